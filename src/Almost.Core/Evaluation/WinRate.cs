namespace Almost.Evaluation;

/// <summary>
/// The outcome of a pairwise comparison of system A against system B over a query set, as a judge saw it: wins,
/// losses and ties of A, the win rate with ties counted as half (the usual convention of pairwise LLM evaluation), and
/// the win rate among decisive judgements, each with a 95 % Wilson interval.
/// </summary>
/// <param name="Wins">Queries where the judge preferred A.</param>
/// <param name="Losses">Queries where it preferred B.</param>
/// <param name="Ties">Queries it could not separate.</param>
public sealed record WinRate(int Wins, int Losses, int Ties)
{
    /// <summary>Queries judged.</summary>
    public int Total => Wins + Losses + Ties;

    /// <summary>(wins + ties / 2) / total, with its interval.</summary>
    public WilsonInterval WithTiesAsHalf => WilsonInterval.Of(Wins + (Ties / 2.0), Total);

    /// <summary>wins / (wins + losses), with its interval: how often A wins when the judge decides.</summary>
    public WilsonInterval AmongDecisive => WilsonInterval.Of(Wins, Wins + Losses);

    /// <summary>Ties / total.</summary>
    public double TieRate => Total == 0 ? double.NaN : Ties / (double)Total;
}
