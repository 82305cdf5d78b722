using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>The rollout quantities an <see cref="IAdvantageEstimator"/> reads.</summary>
/// <param name="TokenRewards">(B, T) per-token rewards (KL penalty everywhere, the score at the last token); 0 on padding.</param>
/// <param name="Values">(B, T) the critic's values of the rollout, or null for critic-free estimators.</param>
/// <param name="Mask">(B, T) 1 on response tokens (contiguous from position 0), 0 on padding.</param>
/// <param name="Scores">(B) the sequence scores (what group estimators compare).</param>
/// <param name="GroupSize">Samples per prompt; rows <c>[g·k, (g+1)·k)</c> answer the same prompt.</param>
public sealed record AdvantageInput(Tensor TokenRewards, Tensor? Values, Tensor Mask, Tensor Scores, int GroupSize);

/// <summary>
/// Turns a rollout into per-token advantages (what the policy loss weighs) and returns (what the value loss fits;
/// null for estimators without a critic). GAE with a critic and a critic-free group estimator implement it, so the
/// PPO loop is the same for both.
/// </summary>
public interface IAdvantageEstimator
{
    /// <summary>Whether the estimator needs the critic's values (the PPO loop then trains a critic).</summary>
    bool UsesCritic { get; }

    /// <summary>Computes advantages and returns; padding positions are 0 in both.</summary>
    /// <param name="input">The rollout.</param>
    /// <returns>(advantages (B, T), returns (B, T) or null).</returns>
    (Tensor Advantages, Tensor? Returns) Estimate(AdvantageInput input);
}

/// <summary>
/// Generalised advantage estimation (Schulman et al. 2016): δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}, with
/// V after the last response token = 0 (the episode ends there); returns = A + V.
/// </summary>
/// <param name="Gamma">Discount γ; 1 as in RLHF practice (episodes are short and the reward comes at the end).</param>
/// <param name="Lambda">λ; 0.95 as in OpenRLHF / TRL.</param>
public sealed record GaeAdvantageEstimator(double Gamma = 1.0, double Lambda = 0.95) : IAdvantageEstimator
{
    /// <inheritdoc />
    public bool UsesCritic => true;

    /// <inheritdoc />
    public (Tensor Advantages, Tensor? Returns) Estimate(AdvantageInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var values = input.Values ?? throw new ArgumentException("GAE needs the critic's values.", nameof(input));
        using var scope = NewDisposeScope();
        var mask = input.Mask.to(ScalarType.Float32);
        var v = values.to(ScalarType.Float32) * mask;
        var r = input.TokenRewards.to(ScalarType.Float32) * mask;
        long t = r.shape[1];
        var advantages = new Tensor[t];
        var next = zeros_like(v.select(1, 0));
        var nextValue = zeros_like(next);
        for (long i = t - 1; i >= 0; i--)
        {
            var m = mask.select(1, i);
            var delta = r.select(1, i) + (Gamma * nextValue) - v.select(1, i);
            var a = (delta + (Gamma * Lambda * next)) * m;
            advantages[i] = a;
            next = a;
            nextValue = v.select(1, i) * m;
        }

        var adv = stack(advantages, 1);
        var returns = (adv + v) * mask;
        return (adv.MoveToOuterDisposeScope(), returns.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Critic-free, group-relative advantages over several samples of the same prompt: every response token of a sample
/// gets <c>(s − baseline) / scale</c>, where s is the sample's score minus its summed KL penalty. RLOO uses the mean
/// of the other samples of the group as the baseline (leave-one-out) and no scale; GRPO uses the group mean and
/// divides by the group's standard deviation.
/// </summary>
/// <param name="Kind">RLOO or GRPO.</param>
public sealed record GroupAdvantageEstimator(GroupBaseline Kind = GroupBaseline.Rloo) : IAdvantageEstimator
{
    /// <inheritdoc />
    public bool UsesCritic => false;

    /// <inheritdoc />
    public (Tensor Advantages, Tensor? Returns) Estimate(AdvantageInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = input.GroupSize;
        long b = input.Mask.shape[0];
        if (k < 2 || b % k != 0)
        {
            throw new ArgumentException($"Group advantages need at least 2 samples per prompt and whole groups; got group size {k} for {b} rows.", nameof(input));
        }

        using var scope = NewDisposeScope();
        var mask = input.Mask.to(ScalarType.Float32);
        var total = (input.TokenRewards.to(ScalarType.Float32) * mask).sum(1);        // score − Σ β·kl, per sample
        var groups = total.view(b / k, k);
        Tensor centred;
        if (Kind == GroupBaseline.Rloo)
        {
            var others = (groups.sum(1, keepdim: true) - groups) / (k - 1);
            centred = groups - others;
        }
        else
        {
            var mean = groups.mean([1], keepdim: true);
            var std = groups.std(1, keepdim: true);
            centred = (groups - mean) / (std + 1e-8);
        }

        var advantages = centred.reshape(b).unsqueeze(1) * mask;
        return (advantages.MoveToOuterDisposeScope(), null);
    }
}

/// <summary>The baseline of <see cref="GroupAdvantageEstimator"/>.</summary>
public enum GroupBaseline
{
    /// <summary>REINFORCE leave-one-out: the mean score of the other samples of the prompt.</summary>
    Rloo,

    /// <summary>GRPO: the group mean, and the advantage divided by the group standard deviation.</summary>
    Grpo,
}
