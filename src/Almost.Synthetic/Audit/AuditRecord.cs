namespace Almost.Synthetic.Audit;

/// <summary>One line of a <see cref="FeedbackAudit"/> output: the judge's verdict on one comparison.</summary>
public sealed record AuditRecord
{
    /// <summary>The comparison's id.</summary>
    public required string Id { get; init; }

    /// <summary>The verdict relative to the label.</summary>
    public required AuditVerdict Verdict { get; init; }

    /// <summary>The chosen configuration (for per-pair tables).</summary>
    public required string ChosenConfiguration { get; init; }

    /// <summary>The rejected configuration.</summary>
    public required string RejectedConfiguration { get; init; }

    /// <summary>The judge's reason, when it gave one.</summary>
    public string? Reason { get; init; }
}
