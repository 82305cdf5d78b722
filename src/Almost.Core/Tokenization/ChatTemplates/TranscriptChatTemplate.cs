using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The plain-text dialogue transcript of the ALMoST paper and Anthropic's HHH prompt: an optional preamble (the
/// system message, written as-is), then each user turn as <c>"\n\nHuman: {content}"</c> and each assistant turn as
/// <c>"\n\nAssistant: {content}"</c>. The generation prompt is <c>"\n\nAssistant:"</c>; the model's reply starts
/// with a space. Works with any vanilla (not instruction-tuned) model: no special tokens are involved.
/// </summary>
public sealed class TranscriptChatTemplate : IChatTemplate
{
    /// <summary>The prefix of a user turn.</summary>
    public const string HumanPrefix = "\n\nHuman:";

    /// <summary>The prefix of an assistant turn, and the generation prompt.</summary>
    public const string AssistantPrefix = "\n\nAssistant:";

    /// <summary>A shared instance; the template has no state.</summary>
    public static TranscriptChatTemplate Instance { get; } = new();

    /// <inheritdoc/>
    /// <remarks>A new <c>"\n\nHuman:"</c> turn ends the assistant's reply.</remarks>
    public IReadOnlyList<string> StopStrings { get; } = [HumanPrefix];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">
    /// A role other than system/user/assistant, or a system message that is not the first message.
    /// </exception>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        for (int i = 0; i < messages.Count; i++)
        {
            ChatMessage message = messages[i];
            switch (message.Role)
            {
                case ChatRoles.System when i == 0:
                    text.Append(message.Content);
                    break;
                case ChatRoles.System:
                    throw new ArgumentException(
                        $"messages[{i}]: a system message must be the first message of a transcript.", nameof(messages));
                case ChatRoles.User:
                    text.Append(HumanPrefix).Append(' ').Append(message.Content);
                    break;
                case ChatRoles.Assistant:
                    text.Append(AssistantPrefix).Append(' ').Append(message.Content);
                    break;
                default:
                    throw new ArgumentException(
                        $"messages[{i}]: role '{message.Role}' is not supported; expected 'system', 'user' or 'assistant'.",
                        nameof(messages));
            }
        }

        if (addGenerationPrompt)
        {
            text.Append(AssistantPrefix);
        }

        return text.ToString();
    }
}
