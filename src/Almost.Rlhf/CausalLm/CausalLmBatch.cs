using Almost.Rlhf.Training;
using static TorchSharp.torch;

namespace Almost.Rlhf.CausalLm;

/// <summary>
/// A right-padded micro-batch of <see cref="CausalLmExample"/>s on the model's device. Disposing it disposes its tensors.
/// </summary>
public sealed class CausalLmBatch : ITrainingBatch
{
    /// <summary>The value of <see cref="Targets"/> at positions without loss (PyTorch's <c>ignore_index</c>).</summary>
    public const long IgnoreIndex = -100;

    private CausalLmBatch(Tensor inputIds, Tensor? attentionMask, Tensor targets, long lossUnits, long inputTokens)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Targets = targets;
        LossUnits = lossUnits;
        InputTokens = inputTokens;
    }

    /// <summary>Token ids (B, T), int64, right-padded.</summary>
    public Tensor InputIds { get; }

    /// <summary>(B, T) int64, 1 = real token, 0 = padding; null when no example is padded (then attention is plain causal).</summary>
    public Tensor? AttentionMask { get; }

    /// <summary>
    /// (B, T−1) int64: <c>InputIds[:, t+1]</c> where that token is real and in the loss mask, else <see cref="IgnoreIndex"/>.
    /// </summary>
    public Tensor Targets { get; }

    /// <summary>Targets that carry loss (not <see cref="IgnoreIndex"/>).</summary>
    public long LossUnits { get; }

    /// <summary>Real input tokens.</summary>
    public long InputTokens { get; }

    /// <summary>
    /// Right-pads <paramref name="examples"/> to the longest with <paramref name="padTokenId"/> and builds the
    /// shifted targets, on the host, then copies the three arrays to <paramref name="device"/> once each.
    /// </summary>
    /// <param name="examples">The examples, in batch order (at least one).</param>
    /// <param name="padTokenId">Filler id for padding (never attended to, never a target).</param>
    /// <param name="device">Where the tensors go.</param>
    /// <returns>The batch.</returns>
    public static CausalLmBatch Collate(IReadOnlyList<CausalLmExample> examples, int padTokenId, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(device);
        if (examples.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        }

        int b = examples.Count, t = 0;
        var padded = false;
        foreach (var example in examples)
        {
            t = Math.Max(t, example.InputIds.Length);
        }

        var ids = new long[b * t];
        var targets = new long[b * (t - 1)];
        Array.Fill(targets, IgnoreIndex);
        long units = 0, tokens = 0;
        for (var i = 0; i < b; i++)
        {
            var example = examples[i];
            var n = example.InputIds.Length;
            padded |= n < t;
            tokens += n;
            var row = ids.AsSpan(i * t, t);
            for (var j = 0; j < n; j++)
            {
                row[j] = example.InputIds[j];
            }

            row[n..].Fill(padTokenId);
            var targetRow = targets.AsSpan(i * (t - 1), t - 1);
            for (var j = 1; j < n; j++)
            {
                if (example.LossMask is null || example.LossMask[j])
                {
                    targetRow[j - 1] = example.InputIds[j];
                    units++;
                }
            }
        }

        Tensor? mask = null;
        if (padded)
        {
            var maskData = new long[b * t];
            for (var i = 0; i < b; i++)
            {
                maskData.AsSpan(i * t, examples[i].InputIds.Length).Fill(1);
            }

            mask = tensor(maskData, [b, t], device: device);
        }

        return new CausalLmBatch(
            tensor(ids, [b, t], device: device),
            mask,
            tensor(targets, [b, t - 1], device: device),
            units,
            tokens);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask?.Dispose();
        Targets.Dispose();
    }
}
