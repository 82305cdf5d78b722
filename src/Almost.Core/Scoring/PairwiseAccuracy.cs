using Almost.Evaluation;

namespace Almost.Scoring;

/// <summary>
/// How well a scorer orders preference pairs: the share of pairs whose chosen response scores strictly higher than the
/// rejected one (ties count as wrong, and are counted), with the mean scores and the mean margin.
/// </summary>
/// <param name="Pairs">Pairs scored.</param>
/// <param name="Correct">Pairs with score(chosen) &gt; score(rejected).</param>
/// <param name="Ties">Pairs with score(chosen) = score(rejected).</param>
/// <param name="MeanChosen">Mean score of the chosen responses.</param>
/// <param name="MeanRejected">Mean score of the rejected responses.</param>
/// <param name="MeanMargin">Mean of score(chosen) − score(rejected).</param>
public sealed record PairwiseAccuracy(int Pairs, int Correct, int Ties, double MeanChosen, double MeanRejected, double MeanMargin)
{
    /// <summary><see cref="Correct"/> / <see cref="Pairs"/>; NaN for no pairs.</summary>
    public double Accuracy => Pairs == 0 ? double.NaN : (double)Correct / Pairs;

    /// <summary>
    /// The 95 % Wilson score interval of <see cref="Accuracy"/> (what the true accuracy may be, given this many pairs):
    /// ±6 points at 221 pairs (Static HHH) around 50 %.
    /// </summary>
    public WilsonInterval Confidence95 => WilsonInterval.Of(Correct, Pairs);

    /// <summary>Computes the figures from paired scores.</summary>
    /// <param name="chosen">Score of each pair's chosen response.</param>
    /// <param name="rejected">Score of each pair's rejected response, in the same order.</param>
    /// <returns>The accuracy.</returns>
    /// <exception cref="ArgumentException">The lists differ in length.</exception>
    public static PairwiseAccuracy FromScores(IReadOnlyList<double> chosen, IReadOnlyList<double> rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        if (chosen.Count != rejected.Count)
        {
            throw new ArgumentException($"{chosen.Count} chosen scores but {rejected.Count} rejected ones; expected one of each per pair.", nameof(rejected));
        }

        int correct = 0, ties = 0;
        double sumChosen = 0, sumRejected = 0;
        for (var i = 0; i < chosen.Count; i++)
        {
            correct += chosen[i] > rejected[i] ? 1 : 0;
            ties += chosen[i] == rejected[i] ? 1 : 0;
            sumChosen += chosen[i];
            sumRejected += rejected[i];
        }

        var n = Math.Max(1, chosen.Count);
        return new PairwiseAccuracy(chosen.Count, correct, ties, sumChosen / n, sumRejected / n, (sumChosen - sumRejected) / n);
    }
}
