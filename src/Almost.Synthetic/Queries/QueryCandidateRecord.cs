namespace Almost.Synthetic.Queries;

/// <summary>
/// One line of a <see cref="QueryGenerator"/> output: every sampled candidate, accepted or not, so a run can be
/// audited and resumed. Accepted records are the generated queries.
/// </summary>
public sealed record QueryCandidateRecord
{
    /// <summary>Stable id <c>"{round}-{index}"</c>; the query's id downstream.</summary>
    public required string Id { get; init; }

    /// <summary>0-based round that sampled it.</summary>
    public required int Round { get; init; }

    /// <summary>The extracted candidate text.</summary>
    public required string Query { get; init; }

    /// <summary>True when the query joined the pool.</summary>
    public required bool Accepted { get; init; }

    /// <summary>Why it was rejected (a <see cref="QueryRejection"/> value); null when accepted.</summary>
    public string? Reason { get; init; }

    /// <summary>The most similar seed or accepted query, when any shares a token.</summary>
    public string? MostSimilar { get; init; }

    /// <summary>ROUGE-L F1 against <see cref="MostSimilar"/>.</summary>
    public double? RougeL { get; init; }

    /// <summary>The evaluation prompt it overlaps, for <see cref="QueryRejection.Contaminated"/> and <see cref="QueryRejection.Paraphrase"/>.</summary>
    public string? ContaminatedBy { get; init; }
}
