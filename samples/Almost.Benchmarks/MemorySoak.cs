using System.Diagnostics;
using System.Globalization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using Almost.Tokenization;

namespace Almost.Benchmarks;

/// <summary>
/// The memory soak of docs/reliability.md: a small model trained for N steps and sampled for N batches, with the
/// process's resident memory (native + managed) and the managed heap recorded every 100 steps. Memory is flat when
/// the last sample is within 5 % of the first sample after warm-up (step 200).
/// </summary>
internal static class MemorySoak
{
    private const int Every = 100;
    private const int WarmUp = 200;

    public static async Task RunAsync(int steps)
    {
        var config = new LlamaConfig
        {
            VocabSize = 512, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
        };
        using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", Seed = 1 });

        // Training: the SDK's own loop (forward, backward, clip, AdamW, schedule, metrics), no checkpoints.
        var examples = Enumerable.Range(0, 64)
            .Select(i => new CausalLmExample([.. Enumerable.Range(0, 8 + (i % 24)).Select(t => (i * 7 + t * 3) % 500 + 1)]))
            .ToList();
        var output = Path.Combine(Path.GetTempPath(), "almost-soak-" + Guid.NewGuid().ToString("N"));
        var training = new List<(long Step, double RssMb, double ManagedMb)>();
        var watch = Stopwatch.StartNew();
        try
        {
            var trainer = new CausalLmTrainer(model, new CausalLmDataset(examples), new CausalLmTrainingOptions
            {
                OutputDir = output, MaxSteps = steps, PerDeviceBatchSize = 4, LoggingSteps = Every, SaveSteps = 0,
                LearningRate = 1e-3, WarmupSteps = 10,
            });
            await trainer.TrainAsync(new SyncProgress(p => training.Add((p.Step, RssMb(), ManagedMb()))));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }

        var trainSeconds = watch.Elapsed.TotalSeconds;

        // Generation: batches of 4 prompts x 16 new tokens, sampled, through LocalGenerator.
        var generator = new LocalGenerator(model, TokenizerLoader.FromTiktoken("gpt2"), new LocalGeneratorOptions { MaxBatchSize = 4 });
        var prompts = Enumerable.Range(0, 4).Select(i => new[] { 1 + i, 20 + i, 40 + i }).ToArray();
        var generation = new List<(long Step, double RssMb, double ManagedMb)>();
        watch.Restart();
        for (var b = 1; b <= steps; b++)
        {
            generator.Generate(prompts, new GenerationOptions { MaxNewTokens = 16, Temperature = 1.0, Seed = b });
            if (b % Every == 0)
            {
                generation.Add((b, RssMb(), ManagedMb()));
            }
        }

        var generateSeconds = watch.Elapsed.TotalSeconds;
        Report("training steps", training, trainSeconds);
        Report("generation batches", generation, generateSeconds);
    }

    private static void Report(string what, List<(long Step, double RssMb, double ManagedMb)> samples, double seconds)
    {
        var start = samples.First(s => s.Step >= WarmUp);
        var end = samples[^1];
        Console.WriteLine($"## {samples[^1].Step} {what} ({seconds:F0} s)");
        Console.WriteLine("| step | resident MB (native + managed) | managed heap KB |");
        Console.WriteLine("|---:|---:|---:|");
        foreach (var (step, rss, managed) in samples)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {step} | {rss:F1} | {managed * 1000:F0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"growth after warm-up (step {start.Step} to {end.Step}): resident {100 * (end.RssMb / start.RssMb - 1):+0.0;-0.0} %, managed {100 * (end.ManagedMb / start.ManagedMb - 1):+0.0;-0.0} % ({1000 * (end.ManagedMb - start.ManagedMb):+0;-0} KB)"));
        Console.WriteLine();
    }

    private static double RssMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / 1e6;
    }

    // After a full collection, so the figure is live objects, not garbage waiting for the next GC.
    private static double ManagedMb() => GC.GetTotalMemory(forceFullCollection: true) / 1e6;

    private sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
