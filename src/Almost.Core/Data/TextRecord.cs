using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One document in the TRL language-modeling format: <c>{"text": ...}</c>, trained on every token (continued
/// pretraining, or pretraining-data replay mixed into SFT to keep what the base model knew). Fields this type does
/// not know are kept in <see cref="Extra"/> and written back unchanged. A read rejects a line whose <c>text</c> is
/// empty (there is nothing to learn from it).
/// </summary>
public sealed record TextRecord : IJsonlRecordCheck
{
    /// <summary>The document's text.</summary>
    public required string Text { get; init; }

    /// <summary>Unknown fields of the JSON line, preserved on a read/write round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <inheritdoc />
    string? IJsonlRecordCheck.Problem() => Text.Length == 0 ? "field 'text' is empty (expected a non-empty document)" : null;
}
