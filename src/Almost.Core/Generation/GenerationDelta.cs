namespace Almost.Generation;

/// <summary>
/// One step of one streamed sample from <see cref="LocalGenerator.GenerateStreamingAsync(IReadOnlyList{string}, GenerationOptions, IProgress{GenerationProgress}?, CancellationToken)"/>:
/// the text that became final at this step, the tokens sampled, and, on the sample's last delta, why it stopped.
/// </summary>
/// <remarks>
/// Concatenating a sample's <see cref="Text"/>, <see cref="TokenIds"/> and <see cref="LogProbs"/> in order gives the
/// <see cref="GenerationResult"/> that <see cref="LocalGenerator.GenerateAsync"/> returns for the same prompts and options.
/// Text is held back while it could still change: the bytes of a character split across tokens until the character is
/// complete, and a tail that could be the start of a stop string until it is not (or the sample ends), so no delta ever
/// has to be taken back. A delta can therefore carry tokens and no text.
/// </remarks>
/// <param name="PromptIndex">The prompt, as an index into the prompts given.</param>
/// <param name="SampleIndex">The sample of that prompt, 0 .. <see cref="GenerationOptions.SamplesPerPrompt"/> - 1.</param>
/// <param name="Text">Text that follows the sample's earlier deltas; may be empty.</param>
/// <param name="TokenIds">The token accepted at this step (EOS is not one), so one per delta, or none on a delta that ends the sample at EOS.</param>
/// <param name="LogProbs">Log-probabilities of <paramref name="TokenIds"/>, or null when <see cref="GenerationOptions.ReturnLogProbs"/> is off.</param>
/// <param name="FinishReason">Null until the sample's last delta, which says why it stopped.</param>
public sealed record GenerationDelta(
    int PromptIndex,
    int SampleIndex,
    string Text,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<float>? LogProbs,
    FinishReason? FinishReason);
