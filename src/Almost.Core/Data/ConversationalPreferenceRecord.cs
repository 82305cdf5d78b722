using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One comparison in TRL's conversational preference format, with an explicit prompt —
/// <c>{"prompt": [{"role": "user", "content": ...}], "chosen": [{"role": "assistant", "content": ...}], "rejected": [...]}</c>
/// — or an implicit one: no <c>prompt</c>, and <c>chosen</c> / <c>rejected</c> full conversations that share every
/// turn but their last (TRL's <c>extract_prompt</c> takes the shared turns as the prompt). Fields this type does not
/// know are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
/// <remarks>
/// <para>
/// The rule, in both forms: the conversation of each side is <c>prompt + chosen</c> (or <c>prompt + rejected</c>); it
/// must end with an assistant turn (the response), and the turns before that last one (the prompt, plus any earlier
/// turns of <c>chosen</c> / <c>rejected</c>) must be the same on both sides. <see cref="ExtractPrompt"/> returns that
/// shared prompt and the two responses.
/// </para>
/// <para>
/// A read rejects, naming the file, the line and the field, a line whose <c>chosen</c> or <c>rejected</c> holds no
/// message, whose last message there is not an assistant turn, whose two sides differ before the last turn, or with a
/// message of empty <c>content</c>.
/// </para>
/// </remarks>
public sealed record ConversationalPreferenceRecord : IJsonlRecordCheck
{
    /// <summary>The turns both responses answer; null (or absent) for the implicit form, where they open <see cref="Chosen"/> and <see cref="Rejected"/>.</summary>
    public IReadOnlyList<ChatMessage>? Prompt { get; init; }

    /// <summary>The preferred side: its last message is the assistant's response.</summary>
    public required IReadOnlyList<ChatMessage> Chosen { get; init; }

    /// <summary>The dispreferred side: its last message is the assistant's response.</summary>
    public required IReadOnlyList<ChatMessage> Rejected { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>
    /// The shared prompt (<see cref="Prompt"/>, then the turns of <see cref="Chosen"/> before its last one, which must
    /// equal those of <see cref="Rejected"/>) and the two final assistant turns.
    /// </summary>
    /// <returns>The prompt turns (possibly empty) and the chosen and rejected responses.</returns>
    /// <exception cref="ArgumentException">The record breaks the rule above; the message names the field.</exception>
    public (IReadOnlyList<ChatMessage> Prompt, ChatMessage Chosen, ChatMessage Rejected) ExtractPrompt()
    {
        if (Problem() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        return ([.. Prompt ?? [], .. Chosen.Take(Chosen.Count - 1)], Chosen[^1], Rejected[^1]);
    }

    /// <inheritdoc />
    string? IJsonlRecordCheck.Problem() => Problem();

    private string? Problem()
    {
        foreach (var (field, messages) in new[] { ("prompt", Prompt ?? []), ("chosen", Chosen), ("rejected", Rejected) })
        {
            for (int i = 0; i < messages.Count; i++)
            {
                if (messages[i] is null)
                {
                    return $"field '{field}[{i}]' is null (expected a message)";
                }

                if (messages[i].Content.Length == 0)
                {
                    return $"field '{field}[{i}].content' is empty (expected the text of the '{messages[i].Role}' turn)";
                }
            }
        }

        foreach (var (field, messages) in new[] { ("chosen", Chosen), ("rejected", Rejected) })
        {
            if (messages.Count == 0)
            {
                return $"field '{field}' is empty (expected at least one message, the last an assistant turn)";
            }

            if (messages[^1].Role != ChatRoles.Assistant)
            {
                return $"field '{field}' ends with a '{messages[^1].Role}' turn at '{field}[{messages.Count - 1}]' (expected the last message to be the assistant's response)";
            }
        }

        var form = Prompt is null ? "the implicit-prompt form" : "an explicit prompt";
        if (Chosen.Count != Rejected.Count)
        {
            return $"fields 'chosen' and 'rejected' have {Chosen.Count - 1} and {Rejected.Count - 1} turns before their responses " +
                   $"(with {form}, expected the same prompt on both sides: only the last, assistant, turn may differ)";
        }

        for (int i = 0; i < Chosen.Count - 1; i++)
        {
            if (Chosen[i].Role != Rejected[i].Role || Chosen[i].Content != Rejected[i].Content)
            {
                return $"fields 'chosen[{i}]' and 'rejected[{i}]' differ, but come before the responses " +
                       $"(with {form}, expected the same prompt on both sides: only the last, assistant, turn may differ)";
            }
        }

        return null;
    }
}
