namespace Almost.Synthetic.Audit;

/// <summary>The judge's agreement with one stage's comparisons, overall and per configuration pair.</summary>
/// <param name="Stage">The stage's name (e.g. <c>"raw"</c>, <c>"filtered"</c>, <c>"validated"</c>).</param>
/// <param name="Overall">All comparisons of the stage.</param>
/// <param name="ByPair">Per (chosen configuration, rejected configuration), in order of first appearance.</param>
public sealed record AuditReport(string Stage, AgreementStatistics Overall, IReadOnlyList<PairAgreement> ByPair);

/// <summary>Agreement on the comparisons of one configuration pair.</summary>
/// <param name="ChosenConfiguration">The configuration the rubric ranks higher.</param>
/// <param name="RejectedConfiguration">The configuration the rubric ranks lower.</param>
/// <param name="Statistics">The counts.</param>
public sealed record PairAgreement(string ChosenConfiguration, string RejectedConfiguration, AgreementStatistics Statistics);
