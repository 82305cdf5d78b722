namespace Almost.Synthetic.Filters;

/// <summary>
/// Which of the ALMoST reference's response rules <see cref="HeuristicResponseFilter"/> applies. Every rule is on by
/// default with the reference's setting; switch a rule off (or lower <see cref="MinLength"/>) where measurement shows it
/// works against the labels, as it does in TinyWorld (see docs/synthetic-feedback.md).
/// </summary>
public sealed record HeuristicFilterOptions
{
    /// <summary>
    /// Rule <see cref="HeuristicRules.TooShort"/>: a response with fewer characters (after trimming) fails. Default 50, the
    /// reference's value for real LLMs, whose short answers are usually unhelpful. 0 switches the rule off. TinyWorld's
    /// careful answers are often under 50 characters ("The capital of Detil is Abite." has 30), so its runs use a lower value.
    /// </summary>
    public int MinLength { get; init; } = 50;

    /// <summary>Rule <see cref="HeuristicRules.EndsWithQuestionOrColon"/>: a response ending with '?' or ':' fails (it asks back or stops before the content). Default on.</summary>
    public bool RejectEndsWithQuestionOrColon { get; init; } = true;

    /// <summary>Rule <see cref="HeuristicRules.StartsWithWell"/>: a response whose first word is "well" (any case) fails (it hedges). Default on.</summary>
    public bool RejectStartsWithWell { get; init; } = true;

    /// <summary>Rule <see cref="HeuristicRules.NoFinalPeriod"/>: a response that does not end with '.' or '!' fails (it was cut off). Default on.</summary>
    public bool RequireFinalPeriodOrExclamation { get; init; } = true;

    /// <summary>Rule <see cref="HeuristicRules.DontKnow"/>: a response containing "don't know" (any case, straight or curly apostrophe) fails. Default on.</summary>
    public bool RejectDontKnow { get; init; } = true;

    /// <summary>Rule <see cref="HeuristicRules.HumanTurn"/>: a response containing <c>"Human:"</c> fails (the model wrote the user's next turn). Default on.</summary>
    public bool RejectHumanTurn { get; init; } = true;
}
