namespace Almost.Synthetic.Comparisons;

/// <summary>Settings of <see cref="ComparisonBuilder"/>.</summary>
public sealed record PairingOptions
{
    /// <summary>
    /// The reference's length guard: skip a pair whose chosen response is shorter than the rejected one <em>and</em>
    /// shorter than mean − std/2 of the query's kept responses, and try the next lower-ranked response instead. It
    /// encodes "longer is more helpful", which holds for real LLMs; in TinyWorld longer answers carry rude tails and
    /// repeated sentences, and the guard lowers agreement (docs/synthetic-feedback.md). Default true (the reference).
    /// </summary>
    public bool LengthGuard { get; init; } = true;
}
