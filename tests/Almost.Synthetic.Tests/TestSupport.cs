using Almost.Generation;

namespace Almost.Synthetic.Tests;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"almost-synthetic-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>
/// An <see cref="ITextGenerator"/> whose completion is a function of (prompt, seed of the call, position in the call,
/// sample index); records every call.
/// </summary>
internal sealed class ScriptedGenerator(Func<string, long, int, int, string> complete) : ITextGenerator
{
    public List<(IReadOnlyList<string> Prompts, GenerationOptions Options)> Calls { get; } = [];

    public int FailAfterCalls { get; set; } = int.MaxValue;

    public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Calls.Count >= FailAfterCalls)
        {
            throw new IOException("simulated crash");
        }

        Calls.Add((prompts, options));
        IReadOnlyList<IReadOnlyList<GenerationResult>> results = prompts
            .Select((p, i) => (IReadOnlyList<GenerationResult>)Enumerable.Range(0, options.SamplesPerPrompt)
                .Select(s => new GenerationResult(complete(p, options.Seed, i, s), [], null, FinishReason.Stop)).ToList())
            .ToList();
        return Task.FromResult(results);
    }
}

/// <summary>A synchronous IProgress (Progress&lt;T&gt; posts asynchronously, which would race with the test).</summary>
internal sealed class SyncProgress<T>(Action<T> onReport) : IProgress<T>
{
    public void Report(T value) => onReport(value);
}
