namespace Almost.Synthetic.Comparisons;

/// <summary>What a <see cref="ComparisonBuilder.Build"/> call did.</summary>
/// <param name="Queries">Queries seen.</param>
/// <param name="Responses">Responses seen.</param>
/// <param name="DroppedResponses">Responses the filter dropped.</param>
/// <param name="DroppedByReason">Dropped responses per filter reason (a response with two reasons counts under both).</param>
/// <param name="QueriesWithoutComparison">Queries that produced no comparison (fewer than two ranks left, or every pair guarded).</param>
/// <param name="GuardSkips">Candidate pairs the length guard skipped.</param>
/// <param name="Comparisons">Comparisons made.</param>
public sealed record PairingStatistics(
    int Queries,
    int Responses,
    int DroppedResponses,
    IReadOnlyDictionary<string, int> DroppedByReason,
    int QueriesWithoutComparison,
    int GuardSkips,
    int Comparisons);
