namespace Almost.Generation;

/// <summary>Why a sample stopped.</summary>
public enum FinishReason
{
    /// <summary>The model produced its end-of-sequence token.</summary>
    Eos,
    /// <summary>The text reached one of <see cref="GenerationOptions.StopStrings"/>.</summary>
    Stop,
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> was reached.</summary>
    Length,
}

/// <summary>One generated sample.</summary>
/// <param name="Text">The completion text (without the prompt, cut before a stop string).</param>
/// <param name="TokenIds">Generated token ids, excluding EOS; empty when the backend does not report them.</param>
/// <param name="LogProbs">Per-token log-probabilities of <paramref name="TokenIds"/>, or null when not requested / not available.</param>
/// <param name="FinishReason">Why generation stopped.</param>
public sealed record GenerationResult(
    string Text,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<float>? LogProbs,
    FinishReason FinishReason);

/// <summary>Progress of a generation call.</summary>
/// <param name="CompletedPrompts">Prompts whose samples are all finished.</param>
/// <param name="TotalPrompts">Prompts in the call.</param>
/// <param name="GeneratedTokens">Tokens generated so far.</param>
public readonly record struct GenerationProgress(int CompletedPrompts, int TotalPrompts, long GeneratedTokens);
