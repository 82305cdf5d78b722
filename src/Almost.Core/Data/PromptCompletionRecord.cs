using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One demonstration in the TRL prompt-completion format: <c>{"prompt": ..., "completion": ...}</c>.
/// Fields this type does not know are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record PromptCompletionRecord
{
    /// <summary>The prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>The completion that follows the prompt.</summary>
    public required string Completion { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
