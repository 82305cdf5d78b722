using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>
/// Means, variances and whitening over the valid (mask = 1) positions only, so padding never shifts a statistic:
/// the masked reductions every PPO quantity goes through.
/// </summary>
public static class MaskedOps
{
    /// <summary>Σ x·mask / Σ mask over all elements (0-d); 0 when the mask is empty.</summary>
    /// <param name="x">Values.</param>
    /// <param name="mask">Same shape, 1 = valid, 0 = padding (any dtype).</param>
    /// <returns>The masked mean.</returns>
    public static Tensor Mean(Tensor x, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var m = mask.to(x.dtype);
        return ((x * m).sum() / m.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>Masked variance over all valid elements (Bessel-corrected, as OpenRLHF and TRL do).</summary>
    /// <param name="x">Values.</param>
    /// <param name="mask">Same shape, 1 = valid.</param>
    /// <returns>The variance (0-d).</returns>
    public static Tensor Variance(Tensor x, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var m = mask.to(x.dtype);
        var count = m.sum();
        var mean = (x * m).sum() / count.clamp_min(1);
        var squares = ((x - mean).square() * m).sum();
        return (squares / (count - 1).clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (x − mean) / sqrt(var + 1e-8) over the valid elements; with <paramref name="shiftMean"/> false the mean is
    /// added back (values are only rescaled, as for rewards). Padding positions come out 0.
    /// </summary>
    /// <param name="x">Values.</param>
    /// <param name="mask">Same shape, 1 = valid.</param>
    /// <param name="shiftMean">Subtract the mean (advantages) or keep it (rewards).</param>
    /// <returns>The whitened values.</returns>
    public static Tensor Whiten(Tensor x, Tensor mask, bool shiftMean = true)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var mean = Mean(x, mask);
        var whitened = (x - mean) * (Variance(x, mask) + 1e-8).rsqrt();
        if (!shiftMean)
        {
            whitened = whitened + mean;
        }

        return (whitened * mask.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
