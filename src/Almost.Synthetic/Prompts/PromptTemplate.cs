using Almost.Data;
using Almost.Tokenization;

namespace Almost.Synthetic.Prompts;

/// <summary>
/// How a prompt configuration lays out its prompt: a preamble (as a system message: written as-is by the transcript
/// template), k demonstration dialogues, then the query as an open turn, all rendered by one
/// <see cref="IChatTemplate"/> (default the ALMoST transcript: <c>"\n\nHuman: {q}\n\nAssistant:"</c>). The reply is
/// cut at the template's stop strings (the next turn).
/// </summary>
public sealed record PromptTemplate
{
    /// <summary>Text before the demonstrations (the paper's HHH prompt opens with one); empty for none. Default empty.</summary>
    public string Preamble { get; init; } = "";

    /// <summary>Renders the turns. Default <see cref="TranscriptChatTemplate.Instance"/>.</summary>
    public IChatTemplate ChatTemplate { get; init; } = TranscriptChatTemplate.Instance;

    /// <summary>The ALMoST transcript without a preamble.</summary>
    public static PromptTemplate Transcript { get; } = new();

    /// <summary>The prompt: preamble, the first <paramref name="shots"/> dialogues of <paramref name="demonstrations"/>, the open query turn.</summary>
    /// <param name="demonstrations">The demonstration set, or null for 0 shots.</param>
    /// <param name="shots">How many dialogues to take.</param>
    /// <param name="query">The user's query.</param>
    /// <returns>The prompt text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">More shots than the set holds.</exception>
    public string Build(DemonstrationDialogues? demonstrations, int shots, string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(shots);
        int available = demonstrations?.Dialogues.Count ?? 0;
        if (shots > available)
        {
            throw new ArgumentOutOfRangeException(nameof(shots), shots,
                $"The demonstration set '{demonstrations?.Name}' holds {available} dialogues.");
        }

        var messages = new List<ChatMessage>();
        if (Preamble.Length > 0)
        {
            messages.Add(ChatMessage.System(Preamble));
        }

        for (int d = 0; d < shots; d++)
        {
            messages.AddRange(demonstrations!.Dialogues[d]);
        }

        messages.Add(ChatMessage.User(query));
        return ChatTemplate.Format(messages, addGenerationPrompt: true);
    }

    /// <summary>
    /// The context a comparison records for the query (and a reward model scores): the open query turn alone, without
    /// preamble or demonstrations, so every configuration's response answers the same prompt.
    /// </summary>
    /// <param name="query">The user's query.</param>
    /// <returns>The prompt, e.g. <c>"\n\nHuman: {q}\n\nAssistant:"</c>.</returns>
    public string ComparisonPrompt(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ChatTemplate.Format([ChatMessage.User(query)], addGenerationPrompt: true);
    }

    /// <summary>The reply in a continuation: cut at the first stop string, trailing space removed (a leading space, as generated, is kept).</summary>
    /// <param name="continuation">The generated text after the prompt.</param>
    /// <returns>The reply.</returns>
    public string CutReply(string continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return StopStringCut.CutAtFirst(continuation, ChatTemplate.StopStrings).TrimEnd();
    }
}
