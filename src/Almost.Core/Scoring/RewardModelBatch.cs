using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Scoring;

/// <summary>
/// Encoded sequences as one left-padded batch for a reward model: input ids and attention mask, (B, T) int64 on the
/// model's device, built on the host and copied once each. The reward model reads each row at its last real token,
/// which with left padding is the last column; right padding gives the same scores (the model pools by the mask).
/// </summary>
public sealed class RewardModelBatch : IDisposable
{
    private RewardModelBatch(Tensor inputIds, Tensor attentionMask, long realTokens)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        RealTokens = realTokens;
    }

    /// <summary>Token ids (B, T), int64, pad id on the left of shorter rows.</summary>
    public Tensor InputIds { get; }

    /// <summary>Attention mask (B, T), int64: 1 for real tokens, 0 for padding.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Real (non-padding) tokens in the batch.</summary>
    public long RealTokens { get; }

    /// <summary>Rows in the batch.</summary>
    public long Count => InputIds.shape[0];

    /// <summary>Pads <paramref name="sequences"/> on the left to the longest one.</summary>
    /// <param name="sequences">Token ids per row; each non-empty.</param>
    /// <param name="padTokenId">The id that fills the padding (masked out, so any id works; the model's pad id keeps files comparable with transformers).</param>
    /// <param name="device">Where the tensors go.</param>
    /// <returns>The batch; the caller disposes it (or lets the enclosing dispose scope do so).</returns>
    /// <exception cref="ArgumentException">No sequence, or an empty one.</exception>
    public static RewardModelBatch LeftPadded(IReadOnlyList<int[]> sequences, long padTokenId, Device device)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(device);
        if (sequences.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one sequence.", nameof(sequences));
        }

        var width = 0;
        for (var i = 0; i < sequences.Count; i++)
        {
            if (sequences[i] is not { Length: > 0 } row)
            {
                throw new ArgumentException($"Sequence {i} is empty; every row needs at least one token.", nameof(sequences));
            }

            width = Math.Max(width, row.Length);
        }

        var ids = new long[sequences.Count * width];
        var mask = new long[ids.Length];
        long real = 0;
        for (var i = 0; i < sequences.Count; i++)
        {
            var row = sequences[i];
            var offset = (i * width) + width - row.Length;
            Array.Fill(ids, padTokenId, i * width, width - row.Length);
            for (var t = 0; t < row.Length; t++)
            {
                ids[offset + t] = row[t];
                mask[offset + t] = 1;
            }

            real += row.Length;
        }

        var inputIds = tensor(ids, [sequences.Count, width], ScalarType.Int64, device);
        var attentionMask = tensor(mask, [sequences.Count, width], ScalarType.Int64, device);
        return new RewardModelBatch(inputIds, attentionMask, real);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
    }
}
