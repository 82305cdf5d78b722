using Almost.Data;
using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// Llama 3's chat format (Meta-Llama-3-*-Instruct's <c>chat_template</c>): <c>&lt;|begin_of_text|&gt;</c>, then each
/// message as <c>"&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content, trimmed}&lt;|eot_id|&gt;"</c>;
/// the generation prompt is <c>"&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n"</c>. Encode the result
/// without <c>addBos</c>: the BOS token is in the text.
/// </summary>
public sealed class Llama3ChatTemplate : IChatTemplate
{
    /// <summary>The beginning-of-text token written before the first message.</summary>
    public const string BeginOfText = "<|begin_of_text|>";

    /// <summary>The token that opens a role header.</summary>
    public const string StartHeader = "<|start_header_id|>";

    /// <summary>The token that closes a role header.</summary>
    public const string EndHeader = "<|end_header_id|>";

    /// <summary>The token that ends a message.</summary>
    public const string EndOfTurn = "<|eot_id|>";

    /// <summary>A shared instance; the template has no state.</summary>
    public static Llama3ChatTemplate Instance { get; } = new();

    /// <inheritdoc/>
    /// <remarks><c>&lt;|eot_id|&gt;</c> ends the assistant's reply.</remarks>
    public IReadOnlyList<string> StopStrings { get; } = [EndOfTurn];

    /// <inheritdoc/>
    public IReadOnlyList<string> RequiredTokens { get; } = [BeginOfText, StartHeader, EndHeader, EndOfTurn];

    /// <inheritdoc/>
    /// <remarks>Any role name is written as given; contents are trimmed, as the original template does.</remarks>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        for (int i = 0; i < messages.Count; i++)
        {
            if (i == 0)
            {
                text.Append(BeginOfText);
            }

            text.Append(StartHeader).Append(messages[i].Role).Append(EndHeader).Append("\n\n")
                .Append(messages[i].Content.Trim()).Append(EndOfTurn);
        }

        if (addGenerationPrompt)
        {
            text.Append(StartHeader).Append(ChatRoles.Assistant).Append(EndHeader).Append("\n\n");
        }

        return text.ToString();
    }
}
