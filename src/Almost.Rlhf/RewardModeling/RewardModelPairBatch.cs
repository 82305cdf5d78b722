using Almost.Rlhf.Training;
using Almost.Scoring;
using static TorchSharp.torch;

namespace Almost.Rlhf.RewardModeling;

/// <summary>
/// A micro-batch of B comparisons as one model batch of 2B sequences: rows 0..B−1 are the chosen sides, rows
/// B..2B−1 the rejected sides (TRL's layout), left-padded together, so both sides of a pair go through the model in
/// the same forward pass. Disposing it disposes its tensors.
/// </summary>
public sealed class RewardModelPairBatch : ITrainingBatch
{
    private RewardModelPairBatch(RewardModelBatch sequences, Tensor margins, long pairs)
    {
        Sequences = sequences;
        Margins = margins;
        LossUnits = pairs;
    }

    /// <summary>The 2B sequences, chosen first, then rejected in the same pair order.</summary>
    public RewardModelBatch Sequences { get; }

    /// <summary>Per-pair margins (B), fp32, on the model's device.</summary>
    public Tensor Margins { get; }

    /// <summary>Pairs in the batch (the loss is averaged over pairs).</summary>
    public long LossUnits { get; }

    /// <inheritdoc />
    public long InputTokens => Sequences.RealTokens;

    /// <summary>Builds the batch on the host and copies it to <paramref name="device"/> (three copies).</summary>
    /// <param name="pairs">The pairs, at least one.</param>
    /// <param name="padTokenId">The model's pad id.</param>
    /// <param name="device">Where the tensors go.</param>
    /// <returns>The batch.</returns>
    public static RewardModelPairBatch Collate(IReadOnlyList<RewardModelPair> pairs, long padTokenId, Device device)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one pair.", nameof(pairs));
        }

        var rows = new int[pairs.Count * 2][];
        var margins = new float[pairs.Count];
        for (var i = 0; i < pairs.Count; i++)
        {
            rows[i] = pairs[i].Chosen;
            rows[pairs.Count + i] = pairs[i].Rejected;
            margins[i] = (float)pairs[i].Margin;
        }

        return new RewardModelPairBatch(
            RewardModelBatch.LeftPadded(rows, padTokenId, device),
            tensor(margins, [pairs.Count], ScalarType.Float32, device),
            pairs.Count);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Sequences.Dispose();
        Margins.Dispose();
    }
}
