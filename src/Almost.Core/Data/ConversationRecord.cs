using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One dialogue in the TRL conversational format: <c>{"messages": [{"role": "user", "content": ...}, ...]}</c>.
/// Fields this type does not know are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record ConversationRecord
{
    /// <summary>The turns of the dialogue, in order.</summary>
    public required IReadOnlyList<ConversationMessage> Messages { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>One turn of a <see cref="ConversationRecord"/>: <c>{"role": ..., "content": ...}</c>.</summary>
/// <param name="Role">Who speaks: <c>system</c>, <c>user</c> or <c>assistant</c> by convention.</param>
/// <param name="Content">What is said.</param>
public sealed record ConversationMessage(string Role, string Content)
{
    /// <summary>Unknown fields of the turn, preserved on a round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
