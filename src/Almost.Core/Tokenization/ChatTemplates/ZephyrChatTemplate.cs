using Almost.Data;
using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The Zephyr chat format (HuggingFaceH4/zephyr-7b-beta, TinyLlama-Chat): each message as
/// <c>"&lt;|{role}|&gt;\n{content}{eos}"</c> with <c>"\n"</c> after the EOS token; the generation prompt is
/// <c>"&lt;|assistant|&gt;\n"</c>. Only the EOS token needs to be special; the role tags are plain text.
/// </summary>
/// <param name="Eos">The model's EOS token (<c>&lt;/s&gt;</c>).</param>
public sealed record ZephyrChatTemplate(string Eos = "</s>") : IChatTemplate
{
    /// <inheritdoc/>
    public IReadOnlyList<string> StopStrings => [Eos];

    /// <inheritdoc/>
    public IReadOnlyList<string> RequiredTokens => [Eos];

    /// <inheritdoc/>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        foreach (ChatMessage message in messages)
        {
            text.Append("<|").Append(message.Role).Append("|>\n").Append(message.Content).Append(Eos).Append('\n');
        }

        if (addGenerationPrompt)
        {
            text.Append("<|assistant|>\n");
        }

        return text.ToString();
    }
}
