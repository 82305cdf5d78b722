namespace Almost.Synthetic.Filters;

/// <summary>The reason names <see cref="HeuristicResponseFilter"/> reports, one per rule of the ALMoST reference.</summary>
public static class HeuristicRules
{
    /// <summary>Shorter than <see cref="HeuristicFilterOptions.MinLength"/> characters.</summary>
    public const string TooShort = "too-short";

    /// <summary>Ends with '?' or ':'.</summary>
    public const string EndsWithQuestionOrColon = "ends-with-question-or-colon";

    /// <summary>Starts with the word "well".</summary>
    public const string StartsWithWell = "starts-with-well";

    /// <summary>Does not end with '.' or '!'.</summary>
    public const string NoFinalPeriod = "no-final-period";

    /// <summary>Says "don't know".</summary>
    public const string DontKnow = "dont-know";

    /// <summary>Contains a new <c>Human:</c> turn.</summary>
    public const string HumanTurn = "human-turn";

    /// <summary>Empty after trimming (always checked: an empty response can never be a comparison side).</summary>
    public const string Empty = "empty";
}
