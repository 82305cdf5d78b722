namespace Almost.Scoring;

/// <summary>
/// One text for a reward model to score: the context and the response to it. The model scores the concatenation
/// <c>Prompt + Response</c> exactly as given (no separator is added), so the same text gets the same score in
/// post-validation, self-play selection and PPO.
/// </summary>
/// <param name="Prompt">
/// The context the response answers. In the ALMoST pipeline: the conversation so far in the
/// <see cref="Tokenization.AlmostTranscript"/> format, ending with <c>"\n\nAssistant:"</c>, without few-shot
/// demonstrations.
/// </param>
/// <param name="Response">The response, as generated (in the transcript format it starts with a space).</param>
public sealed record RewardModelInput(string Prompt, string Response);
