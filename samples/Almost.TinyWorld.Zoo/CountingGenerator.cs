using Almost.Generation;

namespace Almost.TinyWorld.Zoo;

/// <summary>Wraps a generator and counts the tokens it generates and the seconds it spends, for tokens/s per step.</summary>
internal sealed class CountingGenerator(ITextGenerator inner) : ITextGenerator
{
    public long Tokens { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    public async Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var results = await inner.GenerateAsync(prompts, options, progress, cancellationToken).ConfigureAwait(false);
        Elapsed += watch.Elapsed;
        Tokens += results.Sum(r => r.Sum(s => (long)s.TokenIds.Count));
        return results;
    }
}
