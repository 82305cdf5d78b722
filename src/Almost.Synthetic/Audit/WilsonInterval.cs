namespace Almost.Synthetic.Audit;

/// <summary>
/// The Wilson score interval of a binomial proportion (Wilson, 1927): unlike the normal approximation it stays inside
/// [0, 1] and is sound for small counts and proportions near 0 or 1, which agreement rates of a few dozen pairs are.
/// </summary>
public static class WilsonInterval
{
    /// <summary>z of a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The interval of <paramref name="successes"/> out of <paramref name="trials"/>.</summary>
    /// <param name="successes">Successes, 0 ≤ k ≤ n.</param>
    /// <param name="trials">Trials n; 0 gives (0, 1).</param>
    /// <param name="z">The normal quantile; default <see cref="Z95"/> (95 %).</param>
    /// <returns>Lower and upper bound.</returns>
    public static (double Lower, double Upper) Compute(int successes, int trials, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (trials == 0)
        {
            return (0, 1);
        }

        double n = trials, p = successes / n, z2 = z * z;
        double centre = (p + (z2 / (2 * n))) / (1 + (z2 / n));
        double half = z / (1 + (z2 / n)) * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n)));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
