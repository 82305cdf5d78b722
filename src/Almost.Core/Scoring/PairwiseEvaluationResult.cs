namespace Almost.Scoring;

/// <summary>The pairwise accuracy of a reward model on a preference set, overall and per category.</summary>
/// <param name="Overall">Every pair.</param>
/// <param name="ByCategory">Per category (e.g. Static HHH's helpful / harmless / honest / other), ordered by name; empty when the pairs have none.</param>
public sealed record PairwiseEvaluationResult(PairwiseAccuracy Overall, IReadOnlyDictionary<string, PairwiseAccuracy> ByCategory);
