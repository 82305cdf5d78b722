// A TinyWorld reward model: initialised from a zoo model, trained on synthetic comparisons (rule of thumb + heuristic
// filter, no oracle), and measured against the hidden oracle, which only this evaluation program consults.
//
//   dotnet run -c Release --project samples/Almost.TinyWorld.RewardModel -- [--out DIR (artifacts/tinyworld-rm)]
//        [--train-tasks 1200] [--eval-tasks 300] [--samples 4] [--threads 1] [--init base] [--lr 1e-4] [--epochs 1] [--batch 16]
//        [--labels synthetic|oracle] [--seed 1 (head init; data order = seed + 2)] [--run NAME]
//        [--hhh ../shared/data/almost-eval/hhh_eval.json]
//
// Samples are cached in DIR/samples-{configuration}.jsonl, so a rerun goes straight to training. Each training run
// writes DIR/NAME/ (the reward model, metrics.jsonl, report.json); rerunning a finished run measures its saved model
// again. `--labels oracle` trains on oracle-ordered train-split pairs instead: an upper bound for what the model can
// learn from these samples, not the pipeline (see docs/reward-model.md).
using System.Globalization;
using Almost.IO;
using Almost.Models.Llama;
using Almost.Rlhf.RewardModeling;
using Almost.Scoring;
using Almost.TinyWorld;
using Almost.TinyWorld.RewardModeling;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
string Percent(double value) => (100 * value).ToString("F1", CultureInfo.InvariantCulture) + " %";

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
set_num_threads(int.Parse(Option("--threads", "1"), CultureInfo.InvariantCulture));
string output = Option("--out", Path.Combine("artifacts", "tinyworld-rm"));
string zoo = Option("--zoo", TinyWorldFiles.FindZoo());
int samplesPerPrompt = int.Parse(Option("--samples", "4"), CultureInfo.InvariantCulture);

// 1. Tasks: train-split tasks for the comparisons, eval-split tasks (never used in training) for the oracle pairs.
var trainTasks = new TaskGenerator(21).Generate(TaskSplit.Train, int.Parse(Option("--train-tasks", "1200"), CultureInfo.InvariantCulture));
var evalTasks = new TaskGenerator(31).Generate(TaskSplit.Eval, int.Parse(Option("--eval-tasks", "300"), CultureInfo.InvariantCulture));

// 2. Zoo samples: A (base, 5 careful shots), D (tiny, 3 careful shots), G (tiny, 0 shots), several per prompt.
var samples = await ZooSampler.LoadOrGenerateAsync(output, zoo, trainTasks, evalTasks,
    samplesPerPrompt, Log, cancellation.Token);
var oracle = new Oracle();
foreach (var configuration in ZooSampler.Configurations)
{
    var mine = samples.Where(s => s.Split == "eval" && s.Configuration == configuration.Name).ToList();
    Log($"{configuration.Name}: mean oracle score on eval tasks {mine.Average(s => oracle.Score(evalTasks[s.Task], s.Response)):F3}, " +
        $"passes filter {Percent(mine.Count(s => TinyWorldComparisons.PassesFilter(s.Response)) / (double)mine.Count)}");
}

// 3. Synthetic comparisons of train-split samples; a tenth of the tasks is held out for the synthetic accuracy.
var synthetic = TinyWorldComparisons.Synthetic(samples.Where(s => s.Split == "train"));
var heldOutSynthetic = synthetic.Where(p => p.Task % 10 == 0).Select(p => p.Pair).ToList();
var trainingPairs = synthetic.Where(p => p.Task % 10 != 0).Select(p => p.Pair).ToList();
int agree = synthetic.Count(p => oracle.Prefer(trainTasks[p.Task], p.Pair.Chosen, p.Pair.Rejected) > 0);
int decided = synthetic.Count(p => oracle.Prefer(trainTasks[p.Task], p.Pair.Chosen, p.Pair.Rejected) != 0);
Log($"synthetic comparisons: {trainingPairs.Count} training, {heldOutSynthetic.Count} held out; the oracle agrees with " +
    $"{Percent(agree / (double)decided)} of the {decided} it decides ({Percent(1 - (decided / (double)synthetic.Count))} ties)");

// 4. Oracle-ordered test pairs on eval-split tasks: across configurations, and samples of the same prompt.
var evalSamples = samples.Where(s => s.Split == "eval").ToList();
var acrossConfigurations = TinyWorldComparisons.OracleAcrossConfigurations(evalSamples, evalTasks, oracle);
var withinPrompt = TinyWorldComparisons.OracleWithinPrompt(evalSamples, "A", evalTasks, oracle);
Log($"oracle test pairs: {acrossConfigurations.Count} across configurations, {withinPrompt.Count} within a prompt (A)");

// 5. The reward model: a zoo model's trunk with a fresh scalar head, trained on the comparisons (1 epoch, cosine, 3 % warm-up).
string labels = Option("--labels", "synthetic");
var pairs = labels == "oracle"
    ? TinyWorldComparisons.OracleAcrossConfigurations(samples.Where(s => s.Split == "train" && s.Task % 10 != 0), trainTasks, oracle)
        .Concat(TinyWorldComparisons.OracleWithinPrompt(samples.Where(s => s.Split == "train" && s.Task % 10 != 0), "A", trainTasks, oracle)).ToList()
    : trainingPairs;
string init = Option("--init", "base");
int seed = int.Parse(Option("--seed", "1"), CultureInfo.InvariantCulture);
string runName = Option("--run", $"{labels}-{init}-lr{Option("--lr", "1e-4")}-e{Option("--epochs", "1")}" + (seed == 1 ? "" : $"-s{seed}"));
string runFolder = Path.Combine(output, runName);
var tokenizer = AlmostTokenizer.FromFolder(Path.Combine(zoo, init));
using var rm = LlamaForSequenceClassification.FromCausalLm(Path.Combine(zoo, init), new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = seed });
using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
string reportPath = Path.Combine(runFolder, "report.json");
long steps;
double? trainSeconds = null;
if (File.Exists(Path.Combine(runFolder, "model.safetensors")))
{
    // A finished run (the trainer writes the final model last): measure its saved model again instead of retraining.
    rm.LoadWeights(runFolder);
    steps = File.ReadLines(Path.Combine(runFolder, "metrics.jsonl"))
        .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt64()).Max();
    if (File.Exists(reportPath))
    {
        trainSeconds = System.Text.Json.JsonDocument.Parse(File.ReadAllText(reportPath)).RootElement.GetProperty("train_seconds").GetDouble();
    }

    Log($"loaded the trained model of {runFolder}");
}
else
{
    var trainer = new RewardModelTrainer(rm, tokenizer, pairs, new RewardModelTrainingOptions
    {
        OutputDir = runFolder,
        LearningRate = double.Parse(Option("--lr", "1e-4"), CultureInfo.InvariantCulture),
        Epochs = int.Parse(Option("--epochs", "1"), CultureInfo.InvariantCulture),
        PerDeviceBatchSize = int.Parse(Option("--batch", "16"), CultureInfo.InvariantCulture),
        LoggingSteps = 25,
        EvalSteps = 100,
        SaveSteps = 200,
        SaveTotalLimit = 1,
        ResumeFromCheckpoint = true,
        Seed = seed + 2,
    }, heldOutSynthetic, loggerFactory.CreateLogger<RewardModelTrainer>());
    Log($"training on {pairs.Count} {labels} pairs ({trainer.TotalSteps} steps, {trainer.TrainDataset.TokenCount} tokens, longest {trainer.TrainDataset.MaxLength})");
    var result = await trainer.TrainAsync(cancellationToken: cancellation.Token);
    (steps, trainSeconds) = (result.GlobalStep, Math.Round(result.Elapsed.TotalSeconds, 1));
    Log($"trained in {trainSeconds:F0}s: loss {result.TrainingLoss:F3}, held-out synthetic accuracy {Percent(result.EvalMetrics!["accuracy"])}");
}

// 6. Measure: held-out synthetic pairs, oracle pairs across configurations, oracle pairs within a prompt, best-of-N.
var scorer = new RewardModel(rm, tokenizer, new RewardModelOptions { BatchSize = 32 });
var report = new Dictionary<string, object?>
{
    ["run"] = runName, ["labels"] = labels, ["init"] = init, ["training_pairs"] = pairs.Count, ["steps"] = steps,
    ["train_seconds"] = trainSeconds,
};
foreach (var (name, set) in new[] { ("held_out_synthetic", heldOutSynthetic), ("oracle_across_configurations", acrossConfigurations), ("oracle_within_prompt", withinPrompt) })
{
    var accuracy = (await PairwiseEvaluation.EvaluateAsync(scorer, set, cancellationToken: cancellation.Token)).Overall;
    var (_, low, high) = accuracy.Confidence95;
    report[name] = new { pairs = accuracy.Pairs, accuracy = Math.Round(accuracy.Accuracy, 4), ci95 = new[] { Math.Round(low, 4), Math.Round(high, 4) } };
    Log($"{name}: {Percent(accuracy.Accuracy)} of {accuracy.Pairs} pairs (95 % CI {Percent(low)}–{Percent(high)})");
}

// Best-of-N among the samples of configuration A on each eval task: the reward model's pick vs a random sample vs the oracle's.
var candidates = evalSamples.Where(s => s.Configuration == "A").GroupBy(s => s.Task).OrderBy(g => g.Key).Select(g => g.OrderBy(s => s.Sample).ToList()).ToList();
var candidateScores = await scorer.ScoreAsync(candidates.SelectMany(g => g.Select(s => new RewardModelInput(s.Prompt, s.Response))).ToArray(), cancellation.Token);
int offset = 0;
double randomPick = 0, rmPick = 0, oraclePick = 0;
foreach (var group in candidates)
{
    var oracleScores = group.Select(s => oracle.Score(evalTasks[s.Task], s.Response)).ToArray();
    var best = Enumerable.Range(0, group.Count).MaxBy(i => candidateScores[offset + i]);
    randomPick += oracleScores.Average();
    rmPick += oracleScores[best];
    oraclePick += oracleScores.Max();
    offset += group.Count;
}

report["best_of_n"] = new
{
    n = samplesPerPrompt, tasks = candidates.Count, random = Math.Round(randomPick / candidates.Count, 4),
    reward_model = Math.Round(rmPick / candidates.Count, 4), oracle = Math.Round(oraclePick / candidates.Count, 4),
};
Log($"best of {samplesPerPrompt} (A, oracle score): random {randomPick / candidates.Count:F3}, reward model {rmPick / candidates.Count:F3}, oracle {oraclePick / candidates.Count:F3}");
// Static HHH (real human-written pairs): a TinyWorld model has never seen such text, so near chance is expected.
string hhh = Option("--hhh", Path.Combine("..", "shared", "data", "almost-eval", "hhh_eval.json"));
if (File.Exists(hhh))
{
    var onHhh = await StaticHhhEval.EvaluateAsync(scorer, hhh, cancellation.Token);
    report["static_hhh"] = new[] { ("all", onHhh.Overall) }.Concat(onHhh.ByCategory.Select(kv => (kv.Key, kv.Value)))
        .ToDictionary(x => x.Item1, x => new { pairs = x.Item2.Pairs, accuracy = Math.Round(x.Item2.Accuracy, 4) });
    Log("static HHH: " + string.Join(", ", new[] { ("all", onHhh.Overall) }.Concat(onHhh.ByCategory.Select(kv => (kv.Key, kv.Value)))
        .Select(x => $"{x.Item1} {Percent(x.Item2.Accuracy)} of {x.Item2.Pairs}")));
}

AtomicFile.WriteJson(reportPath, report, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
return 0;
