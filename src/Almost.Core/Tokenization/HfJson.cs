using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>Reads the JSON files of a Hugging Face tokenizer folder with errors that name the file and line.</summary>
internal static class HfJson
{
    public static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, $"cannot be read: {e.Message}", e);
        }
    }

    public static JsonDocument Parse(string path)
    {
        byte[] bytes = ReadBytes(path);

        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : string.Empty;
            throw new TokenizerLoadException(path, $"is not valid JSON{where}: {e.Message}", e);
        }
    }

    public static JsonElement? Property(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>The items of the array field <paramref name="listName"/> of a <c>Sequence</c> step, with their JSON paths.</summary>
    public static IEnumerable<(JsonElement Item, string JsonPath)> SequenceItems(JsonElement step, string listName, string path, string jsonPath)
    {
        if (Property(step, listName) is not { ValueKind: JsonValueKind.Array } list)
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}.{listName}' must be an array.");
        }

        int i = 0;
        foreach (JsonElement item in list.EnumerateArray())
        {
            yield return (item, $"{jsonPath}.{listName}[{i++}]");
        }
    }

    public static JsonElement RequireObject(JsonElement? element, string path, string jsonPath)
    {
        if (element is not { ValueKind: JsonValueKind.Object } value)
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a JSON object.");
        }

        return value;
    }

    public static string? OptionalString(JsonElement obj, string name, string path, string jsonPath)
    {
        JsonElement? value = Property(obj, name);
        if (value is null)
        {
            return null;
        }

        return value.Value.ValueKind == JsonValueKind.String
            ? value.Value.GetString()
            : throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a string.");
    }

    public static int RequireInt(JsonElement element, string path, string jsonPath) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int value) && value >= 0
            ? value
            : throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a non-negative integer id.");

    /// <summary>Reads a <c>{ "token": id, ... }</c> vocabulary object.</summary>
    public static Dictionary<string, int> ReadVocabulary(JsonElement vocab, string path, string jsonPath)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a JSON object mapping token to id.");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            result[entry.Name] = entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetInt32(out int id) && id >= 0
                ? id
                : RequireInt(entry.Value, path, $"{jsonPath}[\"{entry.Name}\"]");
        }

        return result;
    }
}
