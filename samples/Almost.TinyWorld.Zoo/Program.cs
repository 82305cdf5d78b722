// The TinyWorld vanilla model zoo: three LLaMA sizes pretrained on the same TinyWorld tokens, and the premise of the
// ALMoST method measured on them with the hidden oracle.
//
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- train    [--out DIR] [--sizes tiny,small,base]
//        [--work DIR] [--threads N] [--documents N] [--consistency C] [--careful-share S] [--lapse turn|topic] [--min-turns N] [--max-turns N]
//        [--max-steps N (smoke runs, < 1 epoch)]
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- evaluate [--zoo DIR] [--sizes ...] [--tasks N]
//        [--shots 0,1,3,5] [--temperature 0.7] [--samples 2]
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- probe    [--zoo DIR] [--sizes ...] [--tasks N]
//        (log p(careful answer) after each prompt configuration: how far each model reads its demonstrations)
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- feedback [options: see FeedbackCommand.Usage]
//        (synthetic feedback on the zoo: queries, configurations, filter, pairing, audit against the oracle)
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- world [--zoo DIR] [--seed-tasks 30] [--eval-tasks 2000]
//        (writes the public world files under zoo/world/: seed queries, evaluation prompts, demonstrations)
//
// DIR defaults to samples/Almost.TinyWorld/zoo. Everything is seeded: the same command gives the same zoo on the same
// machine (see docs/tinyworld.md, "The vanilla model zoo" and "The premise, measured").
using System.Diagnostics;
using System.Globalization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.TinyWorld;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using Almost.Samples;
using Almost.TinyWorld.Zoo;
using Almost.Tokenization;
using static TorchSharp.torch;

const string DefaultZoo = "samples/Almost.TinyWorld/zoo";
const string Usage = "usage: Almost.TinyWorld.Zoo train|evaluate|probe|feedback|world [options] (see the header of Program.cs)";
const int DataSeed = 7;
const int BatchSize = 8;
const long ModelSeed = 2023;

// A bad argument or input file ends the program with one line on stderr and exit code 2, not a stack trace.
SampleArguments.ExitOnInputError(Usage);

if (args.Length == 0 || args[0] is not ("train" or "evaluate" or "probe" or "feedback" or "world"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
// One intra-op thread by default: on a shared 2-core machine, two OpenMP threads competing with another busy process run
// up to 20x slower; with one thread, `train --sizes base` and `train --sizes tiny,small` can run side by side.
set_num_threads(SampleArguments.PositiveInt(Option("--threads", "1"), "--threads"));
var sizes = Option("--sizes", "tiny,small,base").Split(',')
    .Select(name => ZooModelSize.Standard.SingleOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"--sizes: unknown size '{name}'; expected {string.Join(", ", ZooModelSize.Standard.Select(s => s.Name))}.")).ToList();

if (args[0] == "world")
{
    return await WorldCommand.RunAsync(args, cancellation.Token);
}

if (args[0] == "feedback")
{
    return await FeedbackCommand.RunAsync(args, cancellation.Token);
}

if (args[0] == "train")
{
    string zoo = SampleArguments.OutputFolder(Option("--out", DefaultZoo), "--out");
    string work = SampleArguments.OutputFolder(Option("--work", Path.Combine(Path.GetTempPath(), "almost-tinyworld-zoo")), "--work");
    var corpusOptions = new ZooCorpusOptions
    {
        TrainDocuments = SampleArguments.PositiveInt(Option("--documents", "22000"), "--documents"),
        MinPersonaConsistency = SampleArguments.Number(Option("--consistency", "0.5"), "--consistency"),
        CarefulShare = SampleArguments.Number(Option("--careful-share", "0.15"), "--careful-share"),
        LapseScope = Enum.Parse<PersonaLapseScope>(Option("--lapse", "turn"), ignoreCase: true),
        MinTurns = SampleArguments.PositiveInt(Option("--min-turns", "2"), "--min-turns"),
        MaxTurns = SampleArguments.PositiveInt(Option("--max-turns", "8"), "--max-turns"),
    };
    int? maxSteps = args.Contains("--max-steps") ? SampleArguments.PositiveInt(Option("--max-steps", "0"), "--max-steps") : null;

    // 1. The corpus (train-split tasks) and the held-out corpus (eval-split tasks).
    var watch = Stopwatch.StartNew();
    var trainTexts = ZooCorpus.TrainTexts(corpusOptions);
    var evalTexts = ZooCorpus.EvalTexts(corpusOptions);
    Log($"corpus: {trainTexts.Count} training documents, {evalTexts.Count} held-out documents ({watch.Elapsed.TotalSeconds:F1}s)");

    // 2. The byte-level BPE tokenizer, trained on the corpus and loaded back through Core's AlmostTokenizer.
    var bpe = new BpeTrainer(new BpeTrainerOptions { VocabSize = corpusOptions.VocabSize }).Train(trainTexts);
    string tokenizerFolder = Path.Combine(work, "tokenizer");
    bpe.Save(tokenizerFolder);
    var tokenizer = AlmostTokenizer.FromFolder(tokenizerFolder);

    // 3. The same token blocks for every size (the trainer's order is a function of its seed: the same for all).
    var train = ZooCorpus.Pack(tokenizer, trainTexts, corpusOptions.BlockSize);
    var eval = ZooCorpus.Pack(tokenizer, evalTexts, corpusOptions.BlockSize);
    var checkBlocks = ZooCorpus.CheckBlocks(tokenizer, corpusOptions);
    Log($"tokens: {train.Count} training blocks of {corpusOptions.BlockSize} ({train.TokenCount} tokens), " +
        $"{eval.Count} held-out blocks ({watch.Elapsed.TotalSeconds:F1}s)");

    // 4. Pretrain each size with the causal-LM trainer (resumable: rerun the same command after a crash), then save
    //    the final model with the tokenizer in Hugging Face layout (fp32) and record it in zoo.json.
    foreach (var size in sizes)
    {
        var config = size.ToConfig(tokenizer.VocabSize);
        using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = ModelSeed });
        Log($"{size.Name}: {config.ParameterCount:N0} parameters, lr {size.LearningRate}");
        var options = new CausalLmTrainingOptions
        {
            OutputDir = Path.Combine(work, size.Name),
            LearningRate = size.LearningRate, WeightDecay = 0.1, AdamBeta2 = 0.95, MinLearningRateRatio = 0.1,
            WarmupRatio = 0.03, PerDeviceBatchSize = BatchSize, Epochs = 1, MaxSteps = maxSteps, LoggingSteps = 50,
            SaveSteps = 250, SaveTotalLimit = 1, Seed = DataSeed, ResumeFromCheckpoint = true,
        };
        var trainer = new CausalLmTrainer(model, train, options, eval);
        var started = Stopwatch.StartNew();
        var result = await trainer.TrainAsync(
            new Progress<TrainingProgress>(p => Log($"{size.Name}: step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:E2} " +
                                                      $"grad_norm {p.GradNorm:F3} {p.TokensPerSecond:F0} tok/s")),
            cancellation.Token);
        double seconds = started.Elapsed.TotalSeconds;
        long tokens = Math.Min(result.GlobalStep * BatchSize, train.Count) * (long)corpusOptions.BlockSize;   // the last batch is short
        double checkLoss = ZooCorpus.MeanLoss(model, checkBlocks);

        string folder = Path.Combine(zoo, size.Name);
        model.SavePretrained(folder, ScalarType.Float32);
        bpe.Save(folder);
        File.Copy(Path.Combine(options.OutputDir, "metrics.jsonl"), Path.Combine(folder, "metrics.jsonl"), overwrite: true);
        var entry = new ZooModelEntry
        {
            Size = size, Parameters = config.ParameterCount, TokensSeen = tokens, Steps = (int)result.GlobalStep,
            BatchSize = BatchSize, TrainSeconds = Math.Round(seconds, 1), TokensPerSecond = Math.Round(tokens / seconds),
            Seed = ModelSeed, EvalLoss = result.EvalLoss ?? double.NaN, CheckLoss = checkLoss,
            FinalTrainLoss = result.TrainingLoss ?? double.NaN, DType = "float32",
        };
        Log($"{size.Name}: eval loss {entry.EvalLoss:F4} (check {checkLoss:F6}), {entry.TokensPerSecond} tok/s, {seconds:F0}s -> {folder}");

        // Keep the entries of sizes trained by another run on the same corpus (e.g. a parallel `--sizes base`).
        var previous = File.Exists(Path.Combine(zoo, ZooManifest.FileName)) ? ZooManifest.Load(zoo) : null;
        var kept = previous is not null && previous.Corpus == corpusOptions
            ? previous.Models.Where(m => m.Size.Name != size.Name)
            : [];
        var order = ZooModelSize.Standard.Select(z => z.Name).ToList();
        new ZooManifest
        {
            Corpus = corpusOptions, TrainTokens = train.TokenCount, EvalTokens = eval.TokenCount, Epochs = 1,
            DataSeed = DataSeed, MaxPositionEmbeddings = config.MaxPositionEmbeddings,
            Command = "dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- train",
            Models = kept.Append(entry).OrderBy(m => order.IndexOf(m.Size.Name)).ToList(),
        }.Save(zoo);
    }
    return 0;
}

if (args[0] == "probe")
{
    string zoo = SampleArguments.ExistingFolder(Option("--zoo", DefaultZoo), "--zoo");
    var evaluation = new PremiseEvaluation(new PremiseOptions { TaskCount = SampleArguments.PositiveInt(Option("--tasks", "600"), "--tasks") });
    var cells = new List<CarefulLikelihoodCell>();
    foreach (var size in sizes)
    {
        string folder = Path.Combine(zoo, size.Name);
        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
        cells.AddRange(CarefulLikelihoodProbe.Measure(evaluation, size.Name, model, AlmostTokenizer.FromFolder(folder),
            cancellationToken: cancellation.Token));
    }
    Console.WriteLine("| Model | Demonstrations | " + string.Join(" | ", evaluation.Options.Shots.Select(k => $"{k}-shot")) + " |");
    Console.WriteLine("|---|---|" + string.Concat(evaluation.Options.Shots.Select(_ => "---|")));
    foreach (var row in cells.GroupBy(c => (c.Model, c.Demonstrations)))
    {
        Console.WriteLine($"| {row.Key.Model} | {row.Key.Demonstrations} | " +
                          string.Join(" | ", row.OrderBy(c => c.Shots).Select(c => c.MeanLogProb.ToString("F3", CultureInfo.InvariantCulture))) + " |");
    }
    foreach (var cell in cells)
    {
        Console.WriteLine($"{cell.Model} {cell.Demonstrations} {cell.Shots}-shot: " +
                          string.Join(", ", cell.ByFamily.Select(f => $"{f.Key} {f.Value.ToString("F2", CultureInfo.InvariantCulture)}")));
    }
    return 0;
}

// evaluate: the premise table. Each size × shots {0,1,3,5} × careful / sloppy demonstrations, scored by the oracle.
{
    string zoo = SampleArguments.ExistingFolder(Option("--zoo", DefaultZoo), "--zoo");
    var defaults = new PremiseOptions();
    var evaluation = new PremiseEvaluation(defaults with
    {
        TaskCount = SampleArguments.PositiveInt(Option("--tasks", defaults.TaskCount.ToString()), "--tasks"),
        Shots = Option("--shots", "0,1,3,5").Split(',').Select(int.Parse).ToList(),
        Generation = defaults.Generation with
        {
            Temperature = SampleArguments.Number(Option("--temperature", "0.7"), "--temperature"),
            SamplesPerPrompt = SampleArguments.PositiveInt(Option("--samples", defaults.Generation.SamplesPerPrompt.ToString()), "--samples"),
        },
    });
    var cells = new List<PremiseCell>();
    foreach (var size in sizes)
    {
        var watch = Stopwatch.StartNew();
        string folder = Path.Combine(zoo, size.Name);
        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
        var tokenizer = AlmostTokenizer.FromFolder(folder);
        var generator = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { MaxBatchSize = 32 });
        var modelCells = await evaluation.EvaluateAsync(size.Name, generator, cancellationToken: cancellation.Token);
        cells.AddRange(modelCells);
        Log($"{size.Name}: " + string.Join(", ", modelCells.Select(c => $"{c.Demonstrations} {c.Shots}-shot {c.MeanScore:F3}")) +
            $" ({watch.Elapsed.TotalSeconds:F0}s)");
    }

    // Keep the cells of sizes evaluated by another run with the same settings (e.g. a parallel `--sizes base`).
    string path = Path.Combine(zoo, "premise.json");
    if (File.Exists(path))
    {
        var previous = PremiseReport.Load(path);
        if (previous.Options.TaskCount == evaluation.Options.TaskCount)
        {
            cells.InsertRange(0, previous.Cells.Where(c => sizes.All(s => s.Name != c.Model)));
        }
    }
    var order = ZooModelSize.Standard.Select(z => z.Name).ToList();
    var report = new PremiseReport { Options = evaluation.Options, Cells = cells.OrderBy(c => order.IndexOf(c.Model)).ToList() };
    report.Save(path);
    Console.WriteLine(report.ToMarkdown());
    return 0;
}
