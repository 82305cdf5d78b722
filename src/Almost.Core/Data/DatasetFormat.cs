using System.Text.Json;

namespace Almost.Data;

/// <summary>The TRL dataset formats Almost reads and writes. Formats are detected from the fields, never configured.</summary>
public enum DatasetFormat
{
    /// <summary>No known format: the fields match none of the others (or the value is not a JSON object).</summary>
    Unknown,

    /// <summary><c>{"prompt", "chosen", "rejected"}</c>, all strings: <see cref="PreferenceRecord"/>.</summary>
    Preference,

    /// <summary><c>{"messages": [{"role", "content"}, ...]}</c>: <see cref="ConversationRecord"/>.</summary>
    Conversation,

    /// <summary><c>{"prompt", "completion"}</c>, both strings: <see cref="PromptCompletionRecord"/>.</summary>
    PromptCompletion,

    /// <summary><c>{"prompt"}</c> (a string) without a completion: <see cref="PromptRecord"/>.</summary>
    Prompt,

    /// <summary>
    /// <c>{"prompt"?, "chosen", "rejected"}</c> with message lists (<c>[{"role", "content"}, ...]</c>), the prompt
    /// optional (implicit in the shared turns): <see cref="ConversationalPreferenceRecord"/>.
    /// </summary>
    ConversationalPreference,

    /// <summary><c>{"text"}</c> (a string) with none of the other formats' fields: <see cref="TextRecord"/> (language modeling).</summary>
    Text,
}

/// <summary>
/// Says which <see cref="DatasetFormat"/> a JSON object is in, TRL style. Rules, first match wins:
/// <c>chosen</c> and <c>rejected</c> (and <c>prompt</c>) strings → <see cref="DatasetFormat.Preference"/>;
/// <c>chosen</c> and <c>rejected</c> arrays (and <c>prompt</c> an array or absent) → <see cref="DatasetFormat.ConversationalPreference"/>;
/// a <c>messages</c> array → <see cref="DatasetFormat.Conversation"/>;
/// <c>prompt</c> and <c>completion</c> strings → <see cref="DatasetFormat.PromptCompletion"/>;
/// a <c>prompt</c> string → <see cref="DatasetFormat.Prompt"/>; a <c>text</c> string → <see cref="DatasetFormat.Text"/>;
/// anything else → <see cref="DatasetFormat.Unknown"/>.
/// Extra fields never change the answer.
/// </summary>
public static class DatasetFormatDetector
{
    /// <summary>Detects the format of one JSON value (one dataset line).</summary>
    /// <param name="record">The parsed line.</param>
    /// <returns>The format, or <see cref="DatasetFormat.Unknown"/>.</returns>
    public static DatasetFormat Detect(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object)
        {
            return DatasetFormat.Unknown;
        }

        bool prompt = IsString(record, "prompt");
        if (prompt && IsString(record, "chosen") && IsString(record, "rejected"))
        {
            return DatasetFormat.Preference;
        }

        if (IsArray(record, "chosen") && IsArray(record, "rejected") && (IsArray(record, "prompt") || !record.TryGetProperty("prompt", out _)))
        {
            return DatasetFormat.ConversationalPreference;
        }

        if (record.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            return DatasetFormat.Conversation;
        }

        if (prompt)
        {
            return IsString(record, "completion") ? DatasetFormat.PromptCompletion : DatasetFormat.Prompt;
        }

        return IsString(record, "text") ? DatasetFormat.Text : DatasetFormat.Unknown;
    }

    /// <summary>Detects the format of one JSON text (one dataset line).</summary>
    /// <param name="json">The line.</param>
    /// <returns>The format; <see cref="DatasetFormat.Unknown"/> when the text is not valid JSON.</returns>
    public static DatasetFormat Detect(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return Detect(document.RootElement);
        }
        catch (JsonException)
        {
            return DatasetFormat.Unknown;
        }
    }

    /// <summary>Detects the format of a JSONL file from its first non-blank line.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The format; <see cref="DatasetFormat.Unknown"/> for an empty file or a first line that is not a known format.</returns>
    public static async Task<DatasetFormat> DetectFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        await using var stream = JsonlLines.OpenRead(path);
        await foreach (var line in JsonlLines.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            if (JsonlLines.IsBlank(line.Content.Span))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line.Content);
                return Detect(document.RootElement);
            }
            catch (JsonException)
            {
                return DatasetFormat.Unknown;
            }
        }

        return DatasetFormat.Unknown;
    }

    private static bool IsString(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String;

    private static bool IsArray(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array;
}
