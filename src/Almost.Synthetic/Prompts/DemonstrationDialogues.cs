using Almost.Data;

namespace Almost.Synthetic.Prompts;

/// <summary>
/// A named set of demonstration dialogues for few-shot prompts (the paper's HHH or "faithful" prompts, or a user's own).
/// A prompt configuration takes the first k dialogues. Load them from a JSONL file of TRL conversations
/// (<c>{"messages": [{"role": "user", ...}, {"role": "assistant", ...}, ...]}</c>, one dialogue per line).
/// </summary>
public sealed record DemonstrationDialogues
{
    /// <summary>Creates a set.</summary>
    /// <param name="name">A name for reports (e.g. <c>"hhh"</c>, <c>"careful"</c>).</param>
    /// <param name="dialogues">The dialogues, in the order prompts take them; each alternates user and assistant turns, user first.</param>
    /// <exception cref="ArgumentException">A dialogue is empty, has a role other than user/assistant, or does not alternate starting with the user.</exception>
    public DemonstrationDialogues(string name, IEnumerable<IReadOnlyList<ChatMessage>> dialogues)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dialogues);
        Name = name;
        Dialogues = dialogues.ToArray();
        for (int d = 0; d < Dialogues.Count; d++)
        {
            if (Check(Dialogues[d]) is { } problem)
            {
                throw new ArgumentException($"Demonstration set '{name}', dialogue {d}: {problem}.", nameof(dialogues));
            }
        }
    }

    /// <summary>The set's name.</summary>
    public string Name { get; }

    /// <summary>The dialogues.</summary>
    public IReadOnlyList<IReadOnlyList<ChatMessage>> Dialogues { get; }

    /// <summary>Loads a set from a JSONL file of <see cref="ConversationRecord"/>s.</summary>
    /// <param name="path">The file.</param>
    /// <param name="name">The set's name; the file name without extension when null.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The set.</returns>
    /// <exception cref="JsonlFormatException">A malformed line, an empty file, or a dialogue that is not user/assistant turns starting with the user (named by line).</exception>
    public static async Task<DemonstrationDialogues> LoadAsync(string path, string? name = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dialogues = new List<IReadOnlyList<ChatMessage>>();
        await foreach (var entry in JsonlReader.ReadEntriesAsync<ConversationRecord>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (Check(entry.Record.Messages) is { } problem)
            {
                throw new JsonlFormatException(path, entry.LineNumber, $"field 'messages': {problem}");
            }

            dialogues.Add(entry.Record.Messages);
        }

        if (dialogues.Count == 0)
        {
            throw new JsonlFormatException(path, 0, "empty demonstration set (expected one {\"messages\": [...]} line per dialogue)");
        }

        return new DemonstrationDialogues(name ?? Path.GetFileNameWithoutExtension(path), dialogues);
    }

    /// <summary>Writes the set as a JSONL file of <see cref="ConversationRecord"/>s (atomically).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="cancellationToken">Stops the write; the target is left untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public Task SaveAsync(string path, CancellationToken cancellationToken = default) =>
        JsonlWriter.WriteAllAsync(path, Dialogues.Select(d => new ConversationRecord { Messages = d }), cancellationToken: cancellationToken);

    private static string? Check(IReadOnlyList<ChatMessage>? messages)
    {
        if (messages is null || messages.Count == 0)
        {
            return "a dialogue needs at least one user turn";
        }

        for (int i = 0; i < messages.Count; i++)
        {
            string expected = i % 2 == 0 ? ChatRoles.User : ChatRoles.Assistant;
            if (messages[i] is null || messages[i].Role != expected)
            {
                return $"turn {i} has role '{messages[i]?.Role}', expected '{expected}' (user and assistant turns alternate, user first)";
            }
        }

        return messages.Count % 2 == 0 ? null : "the last turn is a user turn; a demonstration ends with the assistant's answer";
    }
}
