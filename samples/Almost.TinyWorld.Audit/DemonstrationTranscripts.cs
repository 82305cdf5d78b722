using Almost.Data;
using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>
/// A <see cref="DemonstrationSet"/>'s dialogues as chat messages, so any layer that takes demonstrations as
/// conversations (the synthetic-feedback prompt configurations, a TRL conversations file) gets exactly the dialogues
/// the premise table measured: formatting the messages again with <see cref="AlmostTranscript.Format"/> gives back the
/// same text.
/// </summary>
public static class DemonstrationTranscripts
{
    /// <summary>Splits each dialogue into its user and assistant turns.</summary>
    /// <param name="set">The demonstrations.</param>
    /// <returns>One message list per dialogue, user first, alternating.</returns>
    /// <exception cref="FormatException">A dialogue that is not <c>"\n\nHuman: q\n\nAssistant: a"</c> turns.</exception>
    public static IReadOnlyList<IReadOnlyList<ChatMessage>> ToMessages(DemonstrationSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return set.Dialogues.Select((dialogue, d) => Parse(dialogue, d)).ToList();
    }

    private static IReadOnlyList<ChatMessage> Parse(string dialogue, int index)
    {
        var messages = new List<ChatMessage>();
        string[] turns = dialogue.Split(AlmostTranscript.HumanPrefix);
        if (turns[0].Length != 0)
        {
            throw new FormatException($"Demonstration {index} does not start with a user turn.");
        }
        foreach (string turn in turns.Skip(1))
        {
            string[] parts = turn.Split(AlmostTranscript.AssistantPrefix);
            if (parts.Length != 2 || !parts[0].StartsWith(' ') || !parts[1].StartsWith(' '))
            {
                throw new FormatException($"Demonstration {index}: expected \"Human: q\" then \"Assistant: a\" in \"{turn}\".");
            }
            messages.Add(ChatMessage.User(parts[0][1..]));
            messages.Add(ChatMessage.Assistant(parts[1][1..]));
        }
        return messages;
    }
}
