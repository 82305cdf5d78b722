namespace Almost.Synthetic.Comparisons;

/// <summary>The comparisons a <see cref="ComparisonBuilder"/> made, and its counts.</summary>
/// <param name="Comparisons">The comparisons, query by query, best chosen rank first.</param>
/// <param name="Statistics">What was dropped and skipped.</param>
public sealed record PairingResult(IReadOnlyList<SyntheticComparison> Comparisons, PairingStatistics Statistics);
