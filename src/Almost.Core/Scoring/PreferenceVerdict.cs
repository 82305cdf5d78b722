namespace Almost.Scoring;

/// <summary>A judge's answer to one <see cref="PreferenceQuestion"/>.</summary>
/// <param name="Preferred">A, B or a tie.</param>
/// <param name="Reason">Why, in words, when the judge gives one (an LLM judge's explanation, the oracle's notes); else null.</param>
/// <param name="Margin">
/// How strongly A is preferred over B on the judge's own scale (score A − score B for score-based judges), when it has
/// one; positive favours A. Null for judges without a scale.
/// </param>
public sealed record PreferenceVerdict(PreferredResponse Preferred, string? Reason = null, double? Margin = null);
