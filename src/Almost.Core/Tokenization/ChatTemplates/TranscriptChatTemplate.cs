using Almost.Data;

namespace Almost.Tokenization;

/// <summary>
/// The plain-text dialogue transcript of the ALMoST paper and Anthropic's HHH prompt: an optional preamble (the
/// system message, written as-is), then each user turn as <c>"\n\nHuman: {content}"</c> and each assistant turn as
/// <c>"\n\nAssistant: {content}"</c>. The generation prompt is <c>"\n\nAssistant:"</c>; the model's reply starts
/// with a space. Works with any vanilla (not instruction-tuned) model: no special tokens are involved. The format
/// itself is defined once, in <see cref="AlmostTranscript"/>.
/// </summary>
public sealed class TranscriptChatTemplate : IChatTemplate
{
    /// <summary>A shared instance; the template has no state.</summary>
    public static TranscriptChatTemplate Instance { get; } = new();

    /// <inheritdoc/>
    /// <remarks>A new <c>"\n\nHuman:"</c> turn ends the assistant's reply.</remarks>
    public IReadOnlyList<string> StopStrings => AlmostTranscript.StopStrings;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">
    /// A role other than system/user/assistant, or a system message that is not the first message.
    /// </exception>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) =>
        AlmostTranscript.Format(messages, addGenerationPrompt);
}
