using System.Text.Json;
using Almost.Models.Llama;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

/// <summary>The Core tests' tiny LLaMA (2 layers, hidden 32, vocab 64) with HF's 0.02 initialisation.</summary>
internal static class TinyModels
{
    public static LlamaConfig Config(string modelType = "llama", int maxPositions = 64) =>
        Almost.Core.Tests.Models.TinyConfigs.Llama(tied: false, modelType) with
        {
            MaxPositionEmbeddings = maxPositions,
            InitializerRange = 0.02,
        };

    public static LlamaForCausalLM Create(LlamaConfig? config = null, long seed = 7) =>
        LlamaForCausalLM.Create(config ?? Config(), new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = seed });
}

/// <summary>Toy data: sequences counting up from a start token (mod 60, offset 3), learnable from the previous token.</summary>
internal static class ToyData
{
    public static CausalLmExample Counting(int start, int length, bool[]? mask = null) =>
        new(Enumerable.Range(0, length).Select(i => 3 + ((start + i) % 60)).ToArray(), mask);

    /// <summary><paramref name="count"/> examples of lengths 6..(6+count-1 mod 9) so batches need padding.</summary>
    public static CausalLmDataset VariedLengths(int count, int seed = 0) =>
        new(Enumerable.Range(0, count).Select(i => Counting(start: (i * 7) + seed, length: 6 + ((i * 5) % 9))));
}

/// <summary>A synchronous IProgress (Progress&lt;T&gt; posts asynchronously, which would race with the loop).</summary>
internal sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => onReport(value);
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "almost-rlhf-" + Guid.NewGuid().ToString("N"));

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Metrics
{
    /// <summary>(step, loss, lr) of every line of metrics.jsonl that has a training loss.</summary>
    public static List<(long Step, double Loss, double Lr)> Read(string outputDir)
    {
        var rows = new List<(long, double, double)>();
        foreach (var line in File.ReadAllLines(System.IO.Path.Combine(outputDir, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("loss", out var loss))
            {
                rows.Add((root.GetProperty("step").GetInt64(), loss.GetDouble(), root.GetProperty("lr").GetDouble()));
            }
        }

        return rows;
    }
}

internal static class Weights
{
    public static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
}

/// <summary>Collects formatted log lines, for tests that check what a run says.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger<Almost.Rlhf.CausalLm.CausalLmTrainer>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(formatter(state, exception));
}
