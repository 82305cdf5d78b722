using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One comparison in the TRL preference format: <c>{"prompt": ..., "chosen": ..., "rejected": ...}</c>.
/// Fields this type does not know are kept in <see cref="Extra"/> and written back unchanged. A read rejects a line whose
/// <c>chosen</c> or <c>rejected</c> is empty (there is nothing to score); the prompt may be empty.
/// </summary>
public sealed record PreferenceRecord : IJsonlRecordCheck
{
    /// <summary>The prompt (query) both responses answer.</summary>
    public required string Prompt { get; init; }

    /// <summary>The preferred response.</summary>
    public required string Chosen { get; init; }

    /// <summary>The dispreferred response.</summary>
    public required string Rejected { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <inheritdoc />
    string? IJsonlRecordCheck.Problem() =>
        Chosen.Length == 0 ? "field 'chosen' is empty (expected a non-empty response)"
        : Rejected.Length == 0 ? "field 'rejected' is empty (expected a non-empty response)"
        : null;
}
