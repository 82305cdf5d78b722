using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One generation input in the TRL prompt-only format: <c>{"prompt": ..., "id": ...}</c> with <c>id</c> optional.
/// Fields this type does not know are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record PromptRecord
{
    /// <summary>The prompt text.</summary>
    public required string Prompt { get; init; }

    /// <summary>
    /// A stable identifier of the prompt, or null. A JSON number is accepted and read as its text (<c>7</c> becomes
    /// <c>"7"</c>). Consumers such as <see cref="Almost.Generation.BatchGenerationJob"/> use the 0-based line index
    /// when it is absent.
    /// </summary>
    [JsonConverter(typeof(StringOrNumberConverter))]
    public string? Id { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}
