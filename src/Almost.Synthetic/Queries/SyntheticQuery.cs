namespace Almost.Synthetic.Queries;

/// <summary>A user query the prompt configurations answer.</summary>
/// <param name="Id">Stable id (for generated queries <see cref="QueryCandidateRecord.Id"/>); unique within a run.</param>
/// <param name="Text">The query, bare (no transcript markup).</param>
public sealed record SyntheticQuery(string Id, string Text);
