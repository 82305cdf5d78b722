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
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
