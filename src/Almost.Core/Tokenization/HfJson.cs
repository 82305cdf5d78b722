using System.Text;
using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>Reads the JSON files of a Hugging Face tokenizer folder with errors that name the file and line.</summary>
internal static class HfJson
{
    /// <summary>Token ids must be below this (2^24, as <c>LlamaConfig.MaxVocabSize</c>): a vocabulary size is the largest id + 1.</summary>
    public const int MaxTokenId = (1 << 24) - 1;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a tokenizer file whole; a folder, an unreadable file or a file that is not UTF-8 is a <see cref="TokenizerLoadException"/>.</summary>
    public static byte[] ReadBytes(string path, bool requireUtf8 = true)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (UnauthorizedAccessException e) when (Directory.Exists(path))
        {
            throw new TokenizerLoadException(path, "is a folder; expected a tokenizer file.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, $"cannot be read: {e.Message}", e);
        }

        if (requireUtf8)
        {
            // System.Text.Json validates UTF-8 only where it transcodes, and then throws InvalidOperationException.
            try
            {
                _ = StrictUtf8.GetCharCount(bytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new TokenizerLoadException(path, $"is not valid UTF-8 (bad byte at offset {e.Index}); tokenizer files are UTF-8 text.", e);
            }
        }

        return bytes;
    }

    /// <summary>Reads a UTF-8 text file whole, with the checks of <see cref="ReadBytes"/>.</summary>
    public static string ReadText(string path)
    {
        byte[] bytes = ReadBytes(path);
        ReadOnlySpan<byte> span = bytes.AsSpan().StartsWith("\uFEFF"u8) ? bytes.AsSpan(3) : bytes;
        return StrictUtf8.GetString(span);
    }

    /// <summary>
    /// Adds one vocabulary entry, refusing ids above <see cref="MaxTokenId"/> (so the vocabulary size cannot overflow),
    /// a token listed twice and an id given to two tokens.
    /// </summary>
    public static void AddVocabularyEntry(
        Dictionary<string, int> vocab, Dictionary<int, string> tokensById, string token, int id, string path, string jsonPath)
    {
        if (id > MaxTokenId)
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}[\"{token}\"]' is {id}; expected a token id of at most {MaxTokenId}.");
        }

        if (!vocab.TryAdd(token, id))
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}' lists the token \"{token}\" twice (ids {vocab[token]} and {id}); expected each token once.");
        }

        if (!tokensById.TryAdd(id, token))
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}' gives id {id} to two tokens, \"{tokensById[id]}\" and \"{token}\"; expected each id once.");
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
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int value) && value is >= 0 and <= MaxTokenId
            ? value
            : throw new TokenizerLoadException(path, $"field '{jsonPath}' is {element.GetRawText()}; expected a token id from 0 to {MaxTokenId}.");

    /// <summary>Reads a <c>{ "token": id, ... }</c> vocabulary object.</summary>
    public static Dictionary<string, int> ReadVocabulary(JsonElement vocab, string path, string jsonPath)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a JSON object mapping token to id.");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokensById = new Dictionary<int, string>();
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            int id = RequireInt(entry.Value, path, $"{jsonPath}[\"{entry.Name}\"]");
            AddVocabularyEntry(result, tokensById, entry.Name, id, path, jsonPath);
        }

        return result;
    }
}
