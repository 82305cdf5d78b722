using System.Text;
using Almost.Data;

namespace Almost.Tokenization;

/// <summary>
/// The one definition of the ALMoST dialogue transcript (the paper's and Anthropic's HHH prompt format): each user turn is
/// <c>"\n\nHuman: {content}"</c>, each assistant turn <c>"\n\nAssistant: {content}"</c>, and a model is asked to answer
/// by ending the text with <c>"\n\nAssistant:"</c> (its reply then starts with a space). A reply ends where the model
/// opens the next <c>"\n\nHuman:"</c> turn. <see cref="TranscriptChatTemplate"/>, the prompt configurations, self-play
/// and the reward model's inputs all use these helpers, so the format is spelled once.
/// </summary>
public static class AlmostTranscript
{
    /// <summary>What starts a user turn: <c>"\n\nHuman:"</c> (the content follows after one space).</summary>
    public const string HumanPrefix = "\n\nHuman:";

    /// <summary>What starts an assistant turn and is the generation prompt: <c>"\n\nAssistant:"</c>.</summary>
    public const string AssistantPrefix = "\n\nAssistant:";

    /// <summary>Where a sampled assistant reply stops: at the next user turn.</summary>
    public static IReadOnlyList<string> StopStrings { get; } = [HumanPrefix];

    /// <summary>One complete exchange: <c>"\n\nHuman: {query}\n\nAssistant: {answer}"</c>.</summary>
    /// <param name="query">The user's words.</param>
    /// <param name="answer">The assistant's reply (without a leading space).</param>
    /// <returns>The exchange.</returns>
    public static string FormatTurn(string query, string answer)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(answer);
        return $"{HumanPrefix} {query}{AssistantPrefix} {answer}";
    }

    /// <summary>The open turn a model continues: <c>"\n\nHuman: {query}\n\nAssistant:"</c>.</summary>
    /// <param name="query">The user's words.</param>
    /// <returns>The prompt.</returns>
    public static string FormatPrompt(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return $"{HumanPrefix} {query}{AssistantPrefix}";
    }

    /// <summary>
    /// A whole conversation as transcript text. A leading system message is written as-is (a preamble); with
    /// <paramref name="addGenerationPrompt"/> the text ends with <see cref="AssistantPrefix"/>.
    /// </summary>
    /// <param name="messages">The turns, in order.</param>
    /// <param name="addGenerationPrompt">Append the open assistant turn.</param>
    /// <returns>The transcript.</returns>
    /// <exception cref="ArgumentException">A role other than system/user/assistant, or a system message that is not first.</exception>
    public static string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
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

    /// <summary>
    /// Cuts a sampled continuation of an open assistant turn down to the reply: everything before the first
    /// <c>"\n\nHuman:"</c> (a model that runs on writes the user's next turn itself), trimmed. Generators that honour
    /// <see cref="StopStrings"/> already stop there; this also cleans text from backends that do not.
    /// </summary>
    /// <param name="continuation">The generated text after the prompt.</param>
    /// <returns>The reply.</returns>
    public static string CutReply(string continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        int end = continuation.IndexOf(HumanPrefix, StringComparison.Ordinal);
        return (end >= 0 ? continuation[..end] : continuation).Trim();
    }

    /// <summary>
    /// The content of the last user turn of a transcript (the text between its <c>"\n\nHuman:"</c> and the next
    /// <c>"\n\nAssistant:"</c>, or the end), trimmed; null when the text has no user turn.
    /// </summary>
    /// <param name="transcript">Transcript text, e.g. a prompt ending with <see cref="AssistantPrefix"/>.</param>
    /// <returns>The last query, or null.</returns>
    public static string? LastUserTurn(string transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        int start = transcript.LastIndexOf(HumanPrefix, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += HumanPrefix.Length;
        int end = transcript.IndexOf(AssistantPrefix, start, StringComparison.Ordinal);
        return (end >= 0 ? transcript[start..end] : transcript[start..]).Trim();
    }
}
