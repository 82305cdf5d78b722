using Almost.Scoring;
using Almost.Tokenization;

namespace Almost.Synthetic.Filters;

/// <summary>
/// The ALMoST reference's heuristic filter for synthetic responses: a response is bad when it is too short, ends with
/// '?' or ':', starts with "well", does not end with '.' or '!', says "don't know", or contains a new <c>Human:</c>
/// turn. Each rule is named (<see cref="HeuristicRules"/>) and can be switched off (<see cref="HeuristicFilterOptions"/>);
/// <see cref="Check"/> returns every rule a response breaks, not only the first.
/// </summary>
public sealed class HeuristicResponseFilter : IResponseFilter
{
    // The user-turn marker without its leading blank line: a leaked turn is bad wherever it starts.
    private static readonly string HumanMarker = AlmostTranscript.HumanPrefix.Trim();

    /// <summary>Creates the filter.</summary>
    /// <param name="options">Which rules apply; null for the reference's settings.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="HeuristicFilterOptions.MinLength"/> is negative.</exception>
    public HeuristicResponseFilter(HeuristicFilterOptions? options = null)
    {
        options ??= new HeuristicFilterOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.MinLength, nameof(options));
        Options = options;
    }

    /// <summary>The rules in force.</summary>
    public HeuristicFilterOptions Options { get; }

    /// <inheritdoc />
    /// <remarks>The response is trimmed first; the query is not used by these rules.</remarks>
    public IReadOnlyList<string> Check(string query, string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        string text = response.Trim();
        if (text.Length == 0)
        {
            return [HeuristicRules.Empty];
        }

        var reasons = new List<string>();
        if (text.Length < Options.MinLength)
        {
            reasons.Add(HeuristicRules.TooShort);
        }

        if (Options.RejectEndsWithQuestionOrColon && (text.EndsWith('?') || text.EndsWith(':')))
        {
            reasons.Add(HeuristicRules.EndsWithQuestionOrColon);
        }

        if (Options.RejectStartsWithWell && StartsWithWordWell(text))
        {
            reasons.Add(HeuristicRules.StartsWithWell);
        }

        if (Options.RequireFinalPeriodOrExclamation && !(text.EndsWith('.') || text.EndsWith('!')))
        {
            reasons.Add(HeuristicRules.NoFinalPeriod);
        }

        if (Options.RejectDontKnow && text.Replace('\u2019', '\'').Contains("don't know", StringComparison.OrdinalIgnoreCase))
        {
            reasons.Add(HeuristicRules.DontKnow);
        }

        if (Options.RejectHumanTurn && text.Contains(HumanMarker, StringComparison.Ordinal))
        {
            reasons.Add(HeuristicRules.HumanTurn);
        }

        return reasons;
    }

    // "Well, ..." and "well." hedge; "Wellington is ..." does not.
    private static bool StartsWithWordWell(string text) =>
        text.StartsWith("well", StringComparison.OrdinalIgnoreCase) && (text.Length == 4 || !char.IsLetterOrDigit(text[4]));
}
