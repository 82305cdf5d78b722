namespace Almost.Evaluation;

/// <summary>
/// A confidence interval for a proportion: the Wilson score interval, which stays inside [0, 1] and keeps its coverage
/// for small counts and proportions near 0 or 1, unlike the normal (Wald) interval.
/// </summary>
/// <param name="Estimate">The observed proportion, successes / trials (NaN when there are no trials).</param>
/// <param name="Lower">Lower bound.</param>
/// <param name="Upper">Upper bound.</param>
public readonly record struct WilsonInterval(double Estimate, double Lower, double Upper)
{
    /// <summary>z for a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// The interval for <paramref name="successes"/> out of <paramref name="trials"/>:
    /// <c>(p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)</c>. With no trials: NaN estimate, bounds 0 and 1.
    /// Successes may be fractional (a tie counted as half a win).
    /// </summary>
    /// <param name="successes">Successes, 0..trials.</param>
    /// <param name="trials">Trials, ≥ 0.</param>
    /// <param name="z">The normal quantile; default 95 %.</param>
    /// <returns>The interval.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Negative counts or more successes than trials.</exception>
    public static WilsonInterval Of(double successes, double trials, double z = Z95)
    {
        if (trials < 0 || successes < 0 || successes > trials || !double.IsFinite(successes) || !double.IsFinite(trials))
        {
            throw new ArgumentOutOfRangeException(nameof(successes), $"Expected 0 <= successes ({successes}) <= trials ({trials}).");
        }

        if (trials == 0)
        {
            return new WilsonInterval(double.NaN, 0, 1);
        }

        double p = successes / trials, z2 = z * z;
        double denominator = 1 + (z2 / trials);
        double centre = (p + (z2 / (2 * trials))) / denominator;
        double half = z * Math.Sqrt((p * (1 - p) / trials) + (z2 / (4 * trials * trials))) / denominator;
        return new WilsonInterval(p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>Whether this interval and <paramref name="other"/> share no point.</summary>
    /// <param name="other">Another interval.</param>
    /// <returns>True when they are disjoint.</returns>
    public bool IsDisjointFrom(WilsonInterval other) => Upper < other.Lower || other.Upper < Lower;
}
