using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Generation;

/// <summary>
/// Picks next tokens from logits: greedy at temperature 0, otherwise temperature, top-k and top-p (nucleus) filtering
/// followed by a multinomial draw from an explicit <see cref="Generator"/> (never the global one).
/// </summary>
public static class LogitsSampler
{
    /// <summary>
    /// Next tokens (B) for fp32 logits (B, V). Filtering follows the usual order: temperature, then top-k, then top-p;
    /// top-p always keeps the most likely token.
    /// </summary>
    public static Tensor Sample(Tensor logits, double temperature, int topK, double topP, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentOutOfRangeException.ThrowIfNegative(temperature);
        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        if (topP is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(topP), topP, "top_p must be in (0, 1].");
        }

        using var scope = NewDisposeScope();
        if (temperature == 0)
        {
            return logits.argmax(-1).MoveToOuterDisposeScope();
        }

        var scaled = logits.to(ScalarType.Float32) / temperature;
        var vocab = scaled.shape[^1];
        if (topK > 0 && topK < vocab)
        {
            var kth = scaled.topk(topK, dim: -1).values.narrow(-1, topK - 1, 1);          // (B, 1)
            scaled = scaled.masked_fill(scaled.lt(kth), float.NegativeInfinity);
        }

        if (topP < 1)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            // Drop a token when the tokens before it already hold top_p of the mass; the first is always kept.
            var massBefore = probs.cumsum(-1) - probs;
            var drop = massBefore.gt(topP);
            var dropInVocabOrder = zeros_like(drop).scatter(-1, order, drop);
            scaled = scaled.masked_fill(dropInVocabOrder, float.NegativeInfinity);
        }

        var distribution = scaled.softmax(-1);
        return multinomial(distribution, 1, replacement: true, generator: generator).squeeze(-1).MoveToOuterDisposeScope();
    }
}
