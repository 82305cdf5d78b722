using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>How the per-token KL between the policy and the reference is estimated from sampled tokens.</summary>
public enum KlEstimator
{
    /// <summary>k1 = log π(a) − log π_ref(a): unbiased, but single samples can be negative.</summary>
    K1,

    /// <summary>
    /// k3 = (r − 1) − log r with r = π_ref(a) / π(a): unbiased, never negative, lower variance (Schulman's estimator);
    /// guards against the negative-KL blow-ups of k1 with a badly tuned sampler.
    /// </summary>
    K3,
}

/// <summary>Per-token KL estimates and the KL-penalised token rewards of PPO.</summary>
public static class KlPenalty
{
    /// <summary>The per-token KL estimate (B, T) from the log-probabilities of the sampled tokens; 0 where the mask is 0.</summary>
    /// <param name="logProbs">log π of the sampled tokens (B, T), from the rollout pass.</param>
    /// <param name="referenceLogProbs">log π_ref of the same tokens (B, T).</param>
    /// <param name="mask">(B, T), 1 on response tokens.</param>
    /// <param name="estimator">k1 or k3.</param>
    /// <returns>The estimates.</returns>
    public static Tensor PerToken(Tensor logProbs, Tensor referenceLogProbs, Tensor mask, KlEstimator estimator)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(referenceLogProbs);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var logRatio = logProbs - referenceLogProbs;                                   // log π − log π_ref
        var kl = estimator switch
        {
            KlEstimator.K1 => logRatio,
            KlEstimator.K3 => (-logRatio).exp() - 1 + logRatio,                         // (r − 1) − log r, r = π_ref / π
            _ => throw new ArgumentOutOfRangeException(nameof(estimator), estimator, "Unknown KL estimator."),
        };
        return (kl * mask.to(kl.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Token rewards (B, T): <c>−β · kl</c> on every response token, plus the sequence score at each row's last
    /// response token (the token the reward model read). Padding positions get exactly 0.
    /// </summary>
    /// <param name="scores">Sequence scores (B), already normalised / clipped / penalised.</param>
    /// <param name="kl">Per-token KL (B, T) from <see cref="PerToken"/>.</param>
    /// <param name="mask">(B, T), 1 on response tokens, contiguous from position 0 (right padding).</param>
    /// <param name="klCoefficient">β.</param>
    /// <returns>The rewards.</returns>
    public static Tensor TokenRewards(Tensor scores, Tensor kl, Tensor mask, double klCoefficient)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(kl);
        ArgumentNullException.ThrowIfNull(mask);
        using var scope = NewDisposeScope();
        var m = mask.to(ScalarType.Float32);
        var rewards = -klCoefficient * kl.to(ScalarType.Float32) * m;
        var last = (m.sum(1).to(ScalarType.Int64) - 1).clamp_min(0).unsqueeze(1);      // (B, 1)
        var hasTokens = m.sum(1).gt(0).to(ScalarType.Float32);
        rewards = rewards.scatter_add(1, last, (scores.to(ScalarType.Float32) * hasTokens).unsqueeze(1));
        return rewards.MoveToOuterDisposeScope();
    }
}
