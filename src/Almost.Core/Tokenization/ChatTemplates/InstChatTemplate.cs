using Almost.Data;
using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The <c>[INST]</c> chat format of Mistral-7B-Instruct and Llama-2-chat. Mistral style:
/// <c>"{bos}[INST] {user} [/INST]{assistant}{eos}[INST] ..."</c>, a system message joined to the first user message
/// with a blank line. Llama 2 style (<see cref="Llama2SystemBlock"/>): each user turn as
/// <c>"{bos}[INST] {user} [/INST]"</c>, each reply as <c>" {assistant} {eos}"</c>, contents trimmed, and a system
/// message as <c>"&lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n"</c> before the first user message. The
/// generation prompt is empty: <c>[/INST]</c> already asks for the reply. Encode without <c>addBos</c>.
/// </summary>
/// <param name="Bos">The model's BOS token (<c>&lt;s&gt;</c>).</param>
/// <param name="Eos">The model's EOS token (<c>&lt;/s&gt;</c>), which ends each reply.</param>
/// <param name="Llama2SystemBlock">Llama 2's layout (<c>&lt;&lt;SYS&gt;&gt;</c> block, spaces around replies) instead of Mistral's.</param>
public sealed record InstChatTemplate(string Bos = "<s>", string Eos = "</s>", bool Llama2SystemBlock = false) : IChatTemplate
{
    /// <inheritdoc/>
    public IReadOnlyList<string> StopStrings => [Eos];

    /// <inheritdoc/>
    public IReadOnlyList<string> RequiredTokens => [Bos, Eos];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">
    /// A role other than system/user/assistant, a system message that is not first, or user and assistant turns that
    /// do not alternate starting with the user (the original templates raise the same errors).
    /// </exception>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string? system = messages.Count > 0 && messages[0].Role == ChatRoles.System ? messages[0].Content : null;
        int first = system is null ? 0 : 1;
        var text = new StringBuilder();
        if (!Llama2SystemBlock)
        {
            text.Append(Bos);
        }

        for (int i = first; i < messages.Count; i++)
        {
            ChatMessage message = messages[i];
            string expected = (i - first) % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant;
            if (message.Role != expected)
            {
                throw new ArgumentException(
                    $"messages[{i}]: role '{message.Role}' where '{expected}' was expected; the [INST] format needs an optional system message, then user and assistant turns alternating.",
                    nameof(messages));
            }

            string content = message.Content;
            if (i == first && system is not null)
            {
                content = Llama2SystemBlock ? $"<<SYS>>\n{system}\n<</SYS>>\n\n{content}" : $"{system}\n\n{content}";
            }

            if (message.Role == ChatRoles.User)
            {
                text.Append(Llama2SystemBlock ? Bos : string.Empty).Append("[INST] ")
                    .Append(Llama2SystemBlock ? content.Trim() : content).Append(" [/INST]");
            }
            else
            {
                text.Append(Llama2SystemBlock ? $" {content.Trim()} {Eos}" : content + Eos);
            }
        }

        return text.ToString();
    }
}
