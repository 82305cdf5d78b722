using Almost.Generation;

namespace Almost.Synthetic.SelfPlay;

/// <summary>
/// One side of a self-play dialogue: a (vanilla) model, the text it is prompted with before the dialogue (a preamble
/// and demonstration dialogues in the transcript format), and how it samples.
/// </summary>
/// <param name="Generator">The model: a local engine or an OpenAI-compatible server.</param>
/// <param name="Preamble">Text placed before the dialogue, e.g. k demonstration dialogues; may be empty.</param>
/// <param name="Sampling">
/// Sampling settings. <see cref="GenerationOptions.Seed"/>, <see cref="GenerationOptions.SamplesPerPrompt"/> and
/// <see cref="GenerationOptions.StopStrings"/> are set by the self-play job (seeds per chunk and turn, N candidates,
/// the transcript's turn markers); the rest (temperature, top-p, top-k, max new tokens) is used as given.
/// </param>
public sealed record SelfPlayRole(ITextGenerator Generator, string Preamble, GenerationOptions Sampling);
