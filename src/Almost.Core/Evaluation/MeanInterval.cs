namespace Almost.Evaluation;

/// <summary>
/// A mean with a normal-approximation 95 % interval (1.96 standard errors, sample standard deviation), for scores of
/// systems on a few hundred evaluation items. <see cref="PairedDifference"/> gives the interval of the mean per-item
/// difference of two systems judged on the same items: the item-difficulty variance cancels, so it separates systems
/// whose own intervals overlap (the test a paired comparison should use).
/// </summary>
/// <param name="Mean">The mean.</param>
/// <param name="Lower">Lower end of the interval.</param>
/// <param name="Upper">Upper end of the interval.</param>
/// <param name="Count">Items.</param>
public readonly record struct MeanInterval(double Mean, double Lower, double Upper, int Count)
{
    /// <summary>The mean of <paramref name="values"/> and its interval (<paramref name="z"/> standard errors).</summary>
    /// <param name="values">At least one value.</param>
    /// <param name="z">Standard errors each side; default 1.96 (95 %).</param>
    /// <returns>The interval; zero width for one value.</returns>
    /// <exception cref="ArgumentException">No values, or a value that is not finite.</exception>
    public static MeanInterval Of(IReadOnlyList<double> values, double z = WilsonInterval.Z95)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("A mean needs at least one value.", nameof(values));
        }

        double sum = 0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v))
            {
                throw new ArgumentException($"Value {v} is not finite.", nameof(values));
            }

            sum += v;
        }

        double mean = sum / values.Count, squares = 0;
        foreach (var v in values)
        {
            squares += (v - mean) * (v - mean);
        }

        double half = values.Count < 2 ? 0 : z * Math.Sqrt(squares / (values.Count - 1)) / Math.Sqrt(values.Count);
        return new MeanInterval(mean, mean - half, mean + half, values.Count);
    }

    /// <summary>The mean of <c>a[i] − b[i]</c> and its interval: system A against system B on the same items.</summary>
    /// <param name="a">A's score per item.</param>
    /// <param name="b">B's score per item, in the same order.</param>
    /// <param name="z">Standard errors each side; default 1.96 (95 %).</param>
    /// <returns>The interval of the difference; it excludes 0 when A and B differ at that level.</returns>
    /// <exception cref="ArgumentException">The lists differ in length or are empty.</exception>
    public static MeanInterval PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b, double z = WilsonInterval.Z95)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"Paired scores need the same items: {a.Count} against {b.Count}.", nameof(b));
        }

        var differences = new double[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            differences[i] = a[i] - b[i];
        }

        return Of(differences, z);
    }

    /// <summary>Whether this interval and <paramref name="other"/> do not overlap.</summary>
    /// <param name="other">The other interval.</param>
    /// <returns>True when one lies wholly above the other.</returns>
    public bool IsDisjointFrom(MeanInterval other) => Upper < other.Lower || other.Upper < Lower;

    /// <summary>Whether the interval lies wholly above zero (a paired difference that favours A).</summary>
    public bool IsAboveZero => Lower > 0;
}
