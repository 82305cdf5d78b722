// The TinyWorld vanilla model zoo: three LLaMA sizes pretrained on the same TinyWorld tokens, and the premise of the
// ALMoST method measured on them with the hidden oracle.
//
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- train    [--out DIR] [--sizes tiny,small,base]
//                                                                             [--documents N] [--max-steps N] [--epochs N]
//   dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- evaluate [--zoo DIR] [--sizes ...] [--tasks N]
//
// DIR defaults to samples/Almost.TinyWorld/zoo. Everything is seeded: the same command gives the same zoo on the same
// machine.
using System.Diagnostics;
using System.Text.Json;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.TinyWorld;
using Almost.TinyWorld.Zoo;
using Almost.TinyWorld.ZooProgram;
using Almost.Tokenization;
using static TorchSharp.torch;

const string DefaultZoo = "samples/Almost.TinyWorld/zoo";
const int DataSeed = 7;
const long ModelSeed = 2023;

if (args.Length == 0 || args[0] is not ("train" or "evaluate"))
{
    Console.Error.WriteLine("usage: Almost.TinyWorld.Zoo train|evaluate [options] (see the header of Program.cs)");
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
set_num_threads(int.Parse(Option("--threads", "1")));
var sizes = Option("--sizes", "tiny,small,base").Split(',')
    .Select(name => ZooModelSize.Standard.Single(s => s.Name == name)).ToList();

if (args[0] == "train")
{
    string zoo = Option("--out", DefaultZoo);
    var corpusOptions = new ZooCorpusOptions { TrainDocuments = int.Parse(Option("--documents", "30000")) };
    var training = new ZooTrainingOptions
    {
        MaxSteps = int.Parse(Option("--max-steps", "0")),
        Epochs = int.Parse(Option("--epochs", "1")),
        LogEvery = int.Parse(Option("--log-every", "50")),
    };

    // 1. The corpus (train-split tasks) and the held-out corpus (eval-split tasks).
    var watch = Stopwatch.StartNew();
    var trainTexts = ZooCorpus.TrainTexts(corpusOptions);
    var evalTexts = ZooCorpus.EvalTexts(corpusOptions);
    Log($"corpus: {trainTexts.Count} training documents, {evalTexts.Count} held-out documents ({watch.Elapsed.TotalSeconds:F1}s)");

    // 2. The byte-level BPE tokenizer, trained on the corpus and loaded back through Core's AlmostTokenizer.
    var bpe = new BpeTrainer(new BpeTrainerOptions { VocabSize = corpusOptions.VocabSize }).Train(trainTexts);
    string tokenizerFolder = Directory.CreateTempSubdirectory("tinyworld-zoo-tokenizer-").FullName;
    bpe.Save(tokenizerFolder);
    var tokenizer = AlmostTokenizer.FromFolder(tokenizerFolder);

    // 3. The same token blocks, in the same shuffled order, for every size.
    var trainBlocks = ZooCorpus.Pack(tokenizer, trainTexts, corpusOptions.BlockSize);
    var evalBlocks = ZooCorpus.Pack(tokenizer, evalTexts, corpusOptions.BlockSize);
    var checkBlocks = evalBlocks.Take(corpusOptions.CheckSequences).ToList();
    var order = Enumerable.Range(0, trainBlocks.Count).ToArray();
    new Random(DataSeed).Shuffle(order);
    Log($"tokens: {trainBlocks.Count} training blocks of {corpusOptions.BlockSize} ({(long)trainBlocks.Count * corpusOptions.BlockSize} tokens), " +
        $"{evalBlocks.Count} held-out blocks ({watch.Elapsed.TotalSeconds:F1}s)");

    // 4. Pretrain each size, evaluate it on the held-out blocks, save it with the tokenizer (HF layout, fp32).
    var entries = new List<ZooModelEntry>();
    foreach (var size in sizes)
    {
        var config = size.ToConfig(tokenizer.VocabSize);
        using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = ModelSeed });
        Log($"{size.Name}: {config.ParameterCount:N0} parameters, lr {size.LearningRate}");
        var (steps, tokens, seconds, finalLoss) = ZooPretrainer.Train(
            model, trainBlocks, order, size.LearningRate, training, m => Log($"{size.Name}: {m}"), cancellation.Token);
        double evalLoss = ZooCorpus.MeanLoss(model, evalBlocks);
        double checkLoss = ZooCorpus.MeanLoss(model, checkBlocks);
        string folder = Path.Combine(zoo, size.Name);
        model.SavePretrained(folder, ScalarType.Float32);
        bpe.Save(folder);
        entries.Add(new ZooModelEntry
        {
            Size = size, Parameters = config.ParameterCount, TokensSeen = tokens, Steps = steps,
            BatchSize = training.BatchSize, TrainSeconds = Math.Round(seconds, 1), TokensPerSecond = Math.Round(tokens / seconds),
            Seed = ModelSeed, EvalLoss = evalLoss, CheckLoss = checkLoss, FinalTrainLoss = finalLoss, DType = "float32",
        });
        Log($"{size.Name}: eval loss {evalLoss:F4} (check {checkLoss:F6}), {tokens / seconds:F0} tok/s, {seconds:F0}s -> {folder}");
        // Keep the entries of sizes trained by another run on the same corpus (e.g. a parallel `--sizes base`).
        var previous = File.Exists(Path.Combine(zoo, ZooManifest.FileName)) ? ZooManifest.Load(zoo) : null;
        var kept = previous is not null && previous.Corpus == corpusOptions
            ? previous.Models.Where(m => entries.All(e => e.Size.Name != m.Size.Name))
            : [];
        new ZooManifest
        {
            Corpus = corpusOptions, TrainTokens = (long)trainBlocks.Count * corpusOptions.BlockSize,
            EvalTokens = (long)evalBlocks.Count * corpusOptions.BlockSize, Epochs = training.Epochs, DataSeed = DataSeed,
            MaxPositionEmbeddings = config.MaxPositionEmbeddings,
            Command = "dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- train",
            Models = kept.Concat(entries)
                .OrderBy(m => ZooModelSize.Standard.Select(z => z.Name).ToList().IndexOf(m.Size.Name)).ToList(),
        }.Save(zoo);
    }
    Directory.Delete(tokenizerFolder, recursive: true);
    return 0;
}

// evaluate: the premise table. Each size × shots {0,1,3,5} × careful / sloppy demonstrations, scored by the oracle.
{
    string zoo = Option("--zoo", DefaultZoo);
    var evaluation = new PremiseEvaluation(new PremiseOptions { TaskCount = int.Parse(Option("--tasks", "180")) });
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
