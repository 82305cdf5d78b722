namespace Almost.Synthetic.Audit;

/// <summary>
/// How often a judge agrees with synthetic labels: <see cref="Agreement"/> is the share of the judge's decisive pairs
/// (not ties) in which it prefers the chosen response, with a 95 % Wilson score interval.
/// </summary>
/// <param name="Comparisons">Comparisons judged.</param>
/// <param name="Agree">The judge preferred the chosen response.</param>
/// <param name="Disagree">The judge preferred the rejected response.</param>
/// <param name="Ties">The judge could not separate them.</param>
public sealed record AgreementStatistics(int Comparisons, int Agree, int Disagree, int Ties)
{
    /// <summary>Pairs the judge decided: <see cref="Agree"/> + <see cref="Disagree"/>.</summary>
    public int Decisive => Agree + Disagree;

    /// <summary>Agree / decisive; null when no pair was decisive.</summary>
    public double? Agreement => Decisive == 0 ? null : Agree / (double)Decisive;

    /// <summary>Lower bound of the 95 % Wilson interval of <see cref="Agreement"/>.</summary>
    public double AgreementLower => Almost.Evaluation.WilsonInterval.Of(Agree, Decisive).Lower;

    /// <summary>Upper bound of the 95 % Wilson interval of <see cref="Agreement"/>.</summary>
    public double AgreementUpper => Almost.Evaluation.WilsonInterval.Of(Agree, Decisive).Upper;

    /// <summary>Ties / comparisons; 0 when there are none.</summary>
    public double TieShare => Comparisons == 0 ? 0 : Ties / (double)Comparisons;

    /// <summary>Adds one verdict.</summary>
    /// <param name="verdict">The judge's verdict on (chosen, rejected).</param>
    /// <returns>The updated counts.</returns>
    public AgreementStatistics Add(AuditVerdict verdict) => verdict switch
    {
        AuditVerdict.Chosen => this with { Comparisons = Comparisons + 1, Agree = Agree + 1 },
        AuditVerdict.Rejected => this with { Comparisons = Comparisons + 1, Disagree = Disagree + 1 },
        _ => this with { Comparisons = Comparisons + 1, Ties = Ties + 1 },
    };
}
