namespace Almost.Generation;

/// <summary>
/// Produces completions for a batch of prompts. Implemented by the local TorchSharp engine
/// (<c>LocalGenerator</c>) and by the OpenAI-compatible HTTP backend; every synthetic-data stage programs against it.
/// </summary>
public interface ITextGenerator
{
    /// <summary>
    /// Completes every prompt <see cref="GenerationOptions.SamplesPerPrompt"/> times.
    /// </summary>
    /// <param name="prompts">Raw prompt texts (completion style: the model continues the text).</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="progress">Receives the number of finished prompts as work completes; may be null.</param>
    /// <param name="cancellationToken">Stops the work between batches / requests.</param>
    /// <returns>One list per prompt, in prompt order, holding <see cref="GenerationOptions.SamplesPerPrompt"/> results.</returns>
    Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
