namespace Almost.Synthetic.Queries;

/// <summary>ROUGE-L of a candidate against a reference: precision, recall and their harmonic mean.</summary>
/// <param name="Precision">LCS length / candidate tokens (0 for an empty candidate).</param>
/// <param name="Recall">LCS length / reference tokens (0 for an empty reference).</param>
/// <param name="F1">2PR / (P + R); 0 when either is 0.</param>
public readonly record struct RougeLScore(double Precision, double Recall, double F1);
