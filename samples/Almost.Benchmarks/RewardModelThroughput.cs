using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Almost.Data;
using Almost.IO;
using Almost.Models.Llama;
using Almost.Rlhf.RewardModeling;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;
using TorchSharp;

namespace Almost.Benchmarks;

/// <summary>
/// Reward-model throughput of the ~10M model with a scalar head: training pairs/s (<see cref="RewardModelTrainer"/>,
/// both sides in one batch, forward + backward + AdamW) and scoring pairs/s (<see cref="RewardModel"/>, no_grad), at
/// 128 tokens per side, as wall-clock rates and per CPU-second of this process (on a shared machine the second is the
/// stable figure: with one LibTorch thread it is the rate of one idle core). Writes its own section of
/// docs/performance.md, between markers, so it can run alone (<c>--reward-model</c>) without touching the other numbers.
/// </summary>
internal static class RewardModelThroughput
{
    private const string Begin = "<!-- reward-model benchmark: begin -->";
    private const string End = "<!-- reward-model benchmark: end -->";
    private const int SequenceLength = 128;
    private const int TrainPairsPerBatch = 8;
    private const int ScoreBatch = 32;
    private const int EndOfText = 256;

    /// <summary>Measures, prints one JSON line and writes (or replaces) the section in <paramref name="reportPath"/>.</summary>
    public static void Report(string reportPath, bool quick)
    {
        var result = Measure(quick);
        Console.WriteLine(JsonSerializer.Serialize(result));
        var section = Markdown(result);
        var text = File.Exists(reportPath) ? File.ReadAllText(reportPath) : "# Performance\n";
        var begin = text.IndexOf(Begin, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        text = begin >= 0 && end > begin
            ? text[..begin] + section + text[(end + End.Length)..]
            : text.TrimEnd() + "\n\n" + section + "\n";
        AtomicFile.WriteAllText(reportPath, text);
        Console.Error.WriteLine($"wrote the reward-model section of {reportPath}");
    }

    private static Dictionary<string, object> Measure(bool quick)
    {
        // One id per byte; BOS = EOS = PAD as in TinyWorld, so a side is BOS + 127 bytes = 128 tokens, nothing appended.
        var tokenizer = TokenizerLoader.FromByteLevelBpe(
            Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Characters[b].ToString(), b => b), [],
            new Dictionary<string, int> { ["<|endoftext|>"] = EndOfText }, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");
        var config = TrainingThroughput.TenMillion with { BosTokenId = EndOfText, EosTokenIds = [EndOfText], PadTokenId = EndOfText };
        using var model = LlamaForSequenceClassification.Create(config, new ModelOptions { Device = "cpu", Seed = 0 });
        var random = new Random(1);
        string Text(int length) => new(Enumerable.Range(0, length).Select(_ => (char)('a' + random.Next(26))).ToArray());
        var pairs = Enumerable.Range(0, 64).Select(_ => new PreferenceRecord
        {
            Prompt = Text(SequenceLength - 1 - 32), Chosen = Text(32), Rejected = Text(32),
        }).ToList();

        // Training: steps after the first two (allocator and kernel warm-up), timed by the progress reports.
        var steps = quick ? 6 : 22;
        var stamps = new List<(double Wall, double Cpu)>();
        var clock = Stopwatch.StartNew();
        double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var folder = Path.Combine(Path.GetTempPath(), "almost-rm-benchmark-" + Guid.NewGuid().ToString("N"));
        try
        {
            var trainer = new RewardModelTrainer(model, tokenizer, pairs, new RewardModelTrainingOptions
            {
                OutputDir = folder, PerDeviceBatchSize = TrainPairsPerBatch, MaxSteps = steps, LoggingSteps = 1, SaveSteps = 0,
                ComputeNormalization = false, LearningRate = 1e-5,
            });
            trainer.TrainAsync(new Progress(_ => stamps.Add((clock.Elapsed.TotalSeconds, Cpu())))).GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var trainPairs = (steps - 2) * TrainPairsPerBatch;
        var (trainWall, trainCpu) = (stamps[^1].Wall - stamps[1].Wall, stamps[^1].Cpu - stamps[1].Cpu);

        // Scoring: 64 pairs = 128 sequences in batches of 32, after one warm-up pass.
        var scorer = new RewardModel(model, tokenizer, new RewardModelOptions { BatchSize = ScoreBatch });
        var inputs = pairs.SelectMany(p => new[] { new RewardModelInput(p.Prompt, p.Chosen), new RewardModelInput(p.Prompt, p.Rejected) }).ToArray();
        scorer.ScoreAsync(inputs).GetAwaiter().GetResult();
        var repeats = quick ? 1 : 3;
        var watch = Stopwatch.StartNew();
        var cpuBefore = Cpu();
        for (var i = 0; i < repeats; i++)
        {
            scorer.ScoreAsync(inputs).GetAwaiter().GetResult();
        }

        var scorePairs = repeats * pairs.Count;
        var (scoreWall, scoreCpu) = (watch.Elapsed.TotalSeconds, Cpu() - cpuBefore);
        return new Dictionary<string, object>
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["cpu_threads"] = torch.get_num_threads(),
            ["rm_params"] = config.ParameterCount - ((long)config.VocabSize * config.HiddenSize) + config.HiddenSize,
            ["rm_tokens_per_side"] = SequenceLength,
            ["rm_train_pairs_per_batch"] = TrainPairsPerBatch,
            ["rm_train_pairs_per_s"] = Math.Round(trainPairs / trainWall, 2),
            ["rm_train_pairs_per_cpu_s"] = Math.Round(trainPairs / trainCpu, 2),
            ["rm_score_batch"] = ScoreBatch,
            ["rm_score_pairs_per_s"] = Math.Round(scorePairs / scoreWall, 2),
            ["rm_score_pairs_per_cpu_s"] = Math.Round(scorePairs / scoreCpu, 2),
            ["load_average_1min"] = Math.Round(LoadAverage(), 1),
        };
    }

    private static string Markdown(IReadOnlyDictionary<string, object> r)
    {
        string F(string key) => Convert.ToString(r[key], CultureInfo.InvariantCulture) ?? "";
        double D(string key) => Convert.ToDouble(r[key], CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine(Begin);
        text.AppendLine("## Reward-model throughput (issue: reward model)");
        text.AppendLine();
        text.AppendLine($"Run on {F("date")}, CPU, {F("cpu_threads")} TorchSharp thread(s), fp32: the ~10M model of the training benchmark with a");
        text.AppendLine($"scalar head ({D("rm_params") / 1e6:F2} M parameters, no `lm_head`), {F("rm_tokens_per_side")} tokens per side of a pair.");
        text.AppendLine("Reproduce alone with `dotnet run -c Release --project samples/Almost.Benchmarks -- --reward-model`.");
        text.AppendLine();
        text.AppendLine($"Load average during the run: {F("load_average_1min")} (wall-clock rates fall with other load; per CPU-second rates do not).");
        text.AppendLine();
        text.AppendLine("| measure | pairs/s (wall) | pairs per CPU-second | tokens per CPU-second |");
        text.AppendLine("| --- | --- | --- | --- |");
        var tokens = 2 * D("rm_tokens_per_side");
        text.AppendLine($"| training (`RewardModelTrainer`, {F("rm_train_pairs_per_batch")} pairs = {2 * D("rm_train_pairs_per_batch"):F0} sequences per step, forward + backward + AdamW) | {D("rm_train_pairs_per_s"):F2} | {D("rm_train_pairs_per_cpu_s"):F2} | {D("rm_train_pairs_per_cpu_s") * tokens:F0} |");
        text.AppendLine($"| scoring (`RewardModel`, batches of {F("rm_score_batch")} sequences, no_grad) | {D("rm_score_pairs_per_s"):F2} | {D("rm_score_pairs_per_cpu_s"):F2} | {D("rm_score_pairs_per_cpu_s") * tokens:F0} |");
        text.AppendLine();
        text.AppendLine("```json");
        text.AppendLine(JsonSerializer.Serialize(r));
        text.AppendLine("```");
        text.Append(End);
        return text.ToString();
    }

    /// <summary>The 1-minute load average (Linux), or NaN where /proc/loadavg does not exist.</summary>
    internal static double LoadAverage() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load)
            ? load
            : double.NaN;

    /// <summary>A synchronous IProgress (Progress&lt;T&gt; posts to the thread pool and would race with the timing).</summary>
    private sealed class Progress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
