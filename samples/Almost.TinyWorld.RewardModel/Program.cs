// A TinyWorld reward model: initialised from a zoo model, trained on synthetic comparisons (rule of thumb + heuristic
// filter, no oracle), and measured against the hidden oracle, which only this evaluation program consults.
//
//   dotnet run -c Release --project samples/Almost.TinyWorld.RewardModel -- [--out DIR] [--train-tasks 1200]
//        [--eval-tasks 300] [--samples 4] [--threads 1]
//
// Samples are cached in DIR/samples.jsonl, so a rerun goes straight to training (see docs/reward-model.md).
using System.Globalization;
using Almost.TinyWorld;
using Almost.TinyWorld.RewardModeling;
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
string output = Option("--out", Path.Combine("out", "tinyworld-rm"));
string zoo = Option("--zoo", Path.Combine("samples", "Almost.TinyWorld", "zoo"));
int samplesPerPrompt = int.Parse(Option("--samples", "4"), CultureInfo.InvariantCulture);

// 1. Tasks: train-split tasks for the comparisons, eval-split tasks (never used in training) for the oracle pairs.
var trainTasks = new TaskGenerator(21).Generate(TaskSplit.Train, int.Parse(Option("--train-tasks", "1200"), CultureInfo.InvariantCulture));
var evalTasks = new TaskGenerator(31).Generate(TaskSplit.Eval, int.Parse(Option("--eval-tasks", "300"), CultureInfo.InvariantCulture));

// 2. Zoo samples: A (base, 5 careful shots), D (tiny, 3 careful shots), G (tiny, 0 shots), several per prompt.
var samples = await ZooSampler.LoadOrGenerateAsync(Path.Combine(output, "samples.jsonl"), zoo, trainTasks, evalTasks,
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
return 0;
