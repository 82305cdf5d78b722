namespace Almost.Rlhf.Ppo;

/// <summary>
/// The coefficient β of the KL penalty. <see cref="FixedKlController"/> keeps it; <see cref="AdaptiveKlController"/>
/// steers the measured KL towards a target (Ziegler et al. 2019). Its state is part of every PPO checkpoint.
/// </summary>
public abstract class KlController
{
    /// <summary>The current β.</summary>
    public double Value { get; protected set; }

    /// <summary>Updates β after a rollout whose mean per-sequence KL was <paramref name="currentKl"/>.</summary>
    /// <param name="currentKl">Mean KL per sequence of the rollout batch.</param>
    /// <param name="batchSize">Sequences in the batch.</param>
    public abstract void Update(double currentKl, int batchSize);

    /// <summary>Restores a saved β (resume).</summary>
    /// <param name="value">The saved value.</param>
    public void Restore(double value) => Value = value;
}

/// <summary>A constant β.</summary>
public sealed class FixedKlController : KlController
{
    /// <summary>Creates the controller.</summary>
    /// <param name="value">β, ≥ 0.</param>
    public FixedKlController(double value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        Value = value;
    }

    /// <inheritdoc />
    public override void Update(double currentKl, int batchSize)
    {
    }
}

/// <summary>
/// Adaptive β: <c>e = clip(KL / target − 1, −0.2, 0.2)</c>, <c>β ← β · (1 + e · n / horizon)</c> with n the sequences
/// of the batch — β grows when the policy drifts past the target and shrinks when it stays close.
/// </summary>
public sealed class AdaptiveKlController : KlController
{
    /// <summary>Creates the controller.</summary>
    /// <param name="initial">Initial β (&gt; 0).</param>
    /// <param name="target">Target KL per sequence (&gt; 0).</param>
    /// <param name="horizon">Sequences over which β may change by about a factor e (&gt; 0); 10,000 in Ziegler et al.</param>
    public AdaptiveKlController(double initial, double target, double horizon)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initial);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(target);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        Value = initial;
        Target = target;
        Horizon = horizon;
    }

    /// <summary>The target KL.</summary>
    public double Target { get; }

    /// <summary>The horizon in sequences.</summary>
    public double Horizon { get; }

    /// <inheritdoc />
    public override void Update(double currentKl, int batchSize)
    {
        var error = Math.Clamp((currentKl / Target) - 1, -0.2, 0.2);
        Value *= 1 + (error * batchSize / Horizon);
    }
}
