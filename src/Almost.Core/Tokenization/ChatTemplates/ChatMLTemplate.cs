using Almost.Data;
using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The ChatML format (Qwen, SmolLM-Instruct and others): each message as
/// <c>"&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n"</c>; the generation prompt is
/// <c>"&lt;|im_start|&gt;assistant\n"</c>. The tokenizer should know <c>&lt;|im_start|&gt;</c> and
/// <c>&lt;|im_end|&gt;</c> as special tokens so each encodes to one id.
/// </summary>
public sealed class ChatMLTemplate : IChatTemplate
{
    /// <summary>The token that opens a message.</summary>
    public const string ImStart = "<|im_start|>";

    /// <summary>The token that closes a message.</summary>
    public const string ImEnd = "<|im_end|>";

    /// <summary>A shared instance; the template has no state.</summary>
    public static ChatMLTemplate Instance { get; } = new();

    /// <inheritdoc/>
    /// <remarks><c>&lt;|im_end|&gt;</c> ends the assistant's reply.</remarks>
    public IReadOnlyList<string> StopStrings { get; } = [ImEnd];

    /// <inheritdoc/>
    public IReadOnlyList<string> RequiredTokens { get; } = [ImStart, ImEnd];

    /// <inheritdoc/>
    /// <remarks>Any role name is written as given (ChatML has no fixed role set).</remarks>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        foreach (ChatMessage message in messages)
        {
            text.Append(ImStart).Append(message.Role).Append('\n').Append(message.Content).Append(ImEnd).Append('\n');
        }

        if (addGenerationPrompt)
        {
            text.Append(ImStart).Append(ChatRoles.Assistant).Append('\n');
        }

        return text.ToString();
    }
}
