namespace Almost.Synthetic.Comparisons;

/// <summary>
/// One synthetic comparison: a line of TRL preference JSONL (<c>prompt</c>, <c>chosen</c>, <c>rejected</c>) with the
/// metadata of how it was made. Readers that know only the TRL fields (e.g. <see cref="Almost.Data.PreferenceRecord"/>)
/// keep the rest as extra fields.
/// </summary>
public sealed record SyntheticComparison
{
    /// <summary>Stable id <c>"{query id}:{chosen configuration}>{rejected configuration}"</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The comparison context (<see cref="Prompts.PromptTemplate.ComparisonPrompt"/>), e.g. <c>"\n\nHuman: {q}\n\nAssistant:"</c>.</summary>
    public required string Prompt { get; init; }

    /// <summary>The response of the higher-ranked configuration.</summary>
    public required string Chosen { get; init; }

    /// <summary>The response of the lower-ranked configuration.</summary>
    public required string Rejected { get; init; }

    /// <summary>The query's id.</summary>
    public required string QueryId { get; init; }

    /// <summary>The bare query.</summary>
    public required string Query { get; init; }

    /// <summary>The configuration that wrote <see cref="Chosen"/>.</summary>
    public required string ChosenConfiguration { get; init; }

    /// <summary>The configuration that wrote <see cref="Rejected"/>.</summary>
    public required string RejectedConfiguration { get; init; }

    /// <summary>The rubric rank of <see cref="ChosenConfiguration"/> (0 = best).</summary>
    public required int ChosenRank { get; init; }

    /// <summary>The rubric rank of <see cref="RejectedConfiguration"/> (greater than <see cref="ChosenRank"/>).</summary>
    public required int RejectedRank { get; init; }

    /// <summary>Configurations the length guard skipped as the rejected side before this one was taken; null when none.</summary>
    public IReadOnlyList<string>? GuardSkipped { get; init; }

    /// <summary>The query's responses the filter dropped: configuration → reasons; null when none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Dropped { get; init; }
}
