namespace Almost.Synthetic.Queries;

/// <summary>What a <see cref="QueryGenerator"/> output holds after a run.</summary>
/// <param name="Rounds">Rounds in the output.</param>
/// <param name="Candidates">Candidates sampled (one record each).</param>
/// <param name="Accepted">Candidates accepted.</param>
/// <param name="Rejected">Rejected candidates per <see cref="QueryRejection"/> reason.</param>
/// <param name="ResumedCandidates">Candidates that were already in the output when the run started.</param>
/// <param name="Queries">The accepted queries, in acceptance order.</param>
public sealed record QueryGenerationSummary(
    int Rounds,
    int Candidates,
    int Accepted,
    IReadOnlyDictionary<string, int> Rejected,
    int ResumedCandidates,
    IReadOnlyList<SyntheticQuery> Queries)
{
    /// <summary>Candidates dropped by decontamination: n-gram overlap plus the paraphrase check.</summary>
    public int Decontaminated =>
        (Rejected.TryGetValue(QueryRejection.Contaminated, out int n) ? n : 0) + (Rejected.TryGetValue(QueryRejection.Paraphrase, out int p) ? p : 0);
}
