namespace Almost.Scoring;

/// <summary>The outcome of a pairwise judgement.</summary>
public enum PreferredResponse
{
    /// <summary>The judge cannot separate the two responses (or sees them as equally good).</summary>
    Tie,

    /// <summary>Response A is better.</summary>
    A,

    /// <summary>Response B is better.</summary>
    B,
}
