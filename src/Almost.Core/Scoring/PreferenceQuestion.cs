namespace Almost.Scoring;

/// <summary>Which of two responses to the same prompt is better: the question an <see cref="IPreferenceJudge"/> answers.</summary>
/// <param name="Prompt">
/// The context both responses answer, in the same form as <see cref="RewardModelInput.Prompt"/> (for ALMoST: the
/// conversation in the transcript format ending with <c>"\n\nAssistant:"</c>). A judge that needs the bare query reads
/// it with <see cref="Tokenization.AlmostTranscript.LastUserTurn"/>.
/// </param>
/// <param name="ResponseA">The first response.</param>
/// <param name="ResponseB">The second response.</param>
public sealed record PreferenceQuestion(string Prompt, string ResponseA, string ResponseB);
