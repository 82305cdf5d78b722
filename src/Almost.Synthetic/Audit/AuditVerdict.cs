namespace Almost.Synthetic.Audit;

/// <summary>A judge's verdict on a synthetic comparison, relative to its label.</summary>
public enum AuditVerdict
{
    /// <summary>The judge could not separate the responses.</summary>
    Tie,

    /// <summary>The judge prefers the chosen response: it agrees with the label.</summary>
    Chosen,

    /// <summary>The judge prefers the rejected response: it disagrees.</summary>
    Rejected,
}
