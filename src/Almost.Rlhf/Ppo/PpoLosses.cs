using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>The two PPO objectives in one place, each returning the loss plus the metrics the trainer logs.</summary>
public static class PpoLosses
{
    /// <summary>
    /// Clipped policy loss: <c>mean_valid(max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)))</c> with ρ = exp(log π − log π_old).
    /// Also the clip fraction (share of valid tokens where the clipped term won) and the approximate KL
    /// <c>mean_valid((ρ − 1) − log ρ)</c> between the old and the new policy.
    /// </summary>
    /// <param name="logProbs">log π of the sampled tokens under the policy being trained (B, T), with a graph.</param>
    /// <param name="oldLogProbs">log π_old from the rollout (B, T).</param>
    /// <param name="advantages">(B, T).</param>
    /// <param name="mask">(B, T), 1 on response tokens.</param>
    /// <param name="clipRange">ε (0.2).</param>
    /// <returns>Loss (0-d, with a graph), clip fraction and approximate KL (0-d, detached).</returns>
    public static (Tensor Loss, Tensor ClipFraction, Tensor ApproxKl) Policy(
        Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double clipRange)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(oldLogProbs);
        ArgumentNullException.ThrowIfNull(advantages);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var logRatio = logProbs - oldLogProbs;
        var ratio = logRatio.exp();
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - clipRange, 1 + clipRange);
        var loss = MaskedOps.Mean(maximum(unclipped, clipped), mask);
        var clipFraction = MaskedOps.Mean(clipped.gt(unclipped).to(ScalarType.Float32), mask).detach();
        var approxKl = MaskedOps.Mean((ratio - 1 - logRatio).detach(), mask);
        return (loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope(), approxKl.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Clipped value loss: <c>½ · mean_valid(max((V − R)², (clip(V, V_old ± ε_v) − R)²))</c>, and the share of valid
    /// tokens where the clipped term won.
    /// </summary>
    /// <param name="values">The critic's values now (B, T), with a graph.</param>
    /// <param name="oldValues">Its values at rollout time (B, T).</param>
    /// <param name="returns">GAE returns (B, T).</param>
    /// <param name="mask">(B, T), 1 on response tokens.</param>
    /// <param name="clipRange">ε_v (0.2); 0 or less disables clipping.</param>
    /// <returns>Loss (0-d, with a graph) and clip fraction (0-d, detached).</returns>
    public static (Tensor Loss, Tensor ClipFraction) Value(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double clipRange)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(oldValues);
        ArgumentNullException.ThrowIfNull(returns);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var unclipped = (values - returns).square();
        if (clipRange <= 0)
        {
            return ((0.5 * MaskedOps.Mean(unclipped, mask)).MoveToOuterDisposeScope(),
                zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: values.device).MoveToOuterDisposeScope());
        }

        var clippedValues = oldValues + (values - oldValues).clamp(-clipRange, clipRange);
        var clipped = (clippedValues - returns).square();
        var loss = 0.5 * MaskedOps.Mean(maximum(unclipped, clipped), mask);
        var clipFraction = MaskedOps.Mean(clipped.gt(unclipped).to(ScalarType.Float32), mask).detach();
        return (loss.MoveToOuterDisposeScope(), clipFraction.MoveToOuterDisposeScope());
    }
}
