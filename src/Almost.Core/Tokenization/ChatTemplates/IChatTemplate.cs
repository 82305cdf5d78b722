using Almost.Data;

namespace Almost.Tokenization;

/// <summary>
/// Turns a conversation into the single prompt string a language model is trained on or continues.
/// </summary>
public interface IChatTemplate
{
    /// <summary>Renders the conversation.</summary>
    /// <param name="messages">The turns, oldest first.</param>
    /// <param name="addGenerationPrompt">
    /// When true, appends the text that opens a new assistant turn, so that the model's continuation is the reply.
    /// </param>
    /// <returns>The prompt text.</returns>
    string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt);

    /// <summary>
    /// Strings that end an assistant turn in this format; pass them to generation as stop strings so the model does
    /// not write the next user turn itself.
    /// </summary>
    IReadOnlyList<string> StopStrings { get; }

    /// <summary>
    /// Tokens the format writes that must be special or added tokens of the tokenizer, so each encodes to its one
    /// id instead of plain text (<see cref="AlmostTokenizer.RequireChatTemplateTokens"/> checks them). Empty for a
    /// plain-text format.
    /// </summary>
    IReadOnlyList<string> RequiredTokens => [];
}
