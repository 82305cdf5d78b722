using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model: <c>model</c> (<c>vocab</c>, <c>merges</c> as
/// <c>"a b"</c> strings or <c>["a","b"]</c> pairs, <c>ignore_merges</c>, <c>byte_fallback</c>, <c>unk_token</c>,
/// <c>fuse_unk</c>), <c>added_tokens</c>, <c>normalizer</c>, <c>pre_tokenizer</c> and <c>decoder</c>.
/// Byte-level BPE (GPT-2, Llama 3, Qwen) and SentencePiece-style BPE (LLaMA 2, Mistral) both read here.
/// Microsoft.ML.Tokenizers 2.0.1 has no reader for this file.
/// </summary>
internal sealed class HfTokenizerJson
{
    public const string FileName = "tokenizer.json";

    private HfTokenizerJson(
        Dictionary<string, int> vocab, List<(int Left, int Right, int Merged)> merges, List<AddedToken> addedTokens,
        HfNormalizer? normalizer, HfPreTokenizer preTokenizer, HfDecoder decoder, bool byteLevel,
        bool ignoreMerges, bool byteFallback, string? unknownToken, bool fuseUnknown)
    {
        Vocab = vocab;
        Merges = merges;
        AddedTokens = addedTokens;
        Normalizer = normalizer;
        PreTokenizer = preTokenizer;
        Decoder = decoder;
        ByteLevel = byteLevel;
        IgnoreMerges = ignoreMerges;
        ByteFallback = byteFallback;
        UnknownToken = unknownToken;
        FuseUnknown = fuseUnknown;
    }

    public Dictionary<string, int> Vocab { get; }

    /// <summary>Merges as ids (left, right, merged), highest priority first.</summary>
    public List<(int Left, int Right, int Merged)> Merges { get; }

    public List<AddedToken> AddedTokens { get; }

    public HfNormalizer? Normalizer { get; }

    public HfPreTokenizer PreTokenizer { get; }

    public HfDecoder Decoder { get; }

    /// <summary>The model works on UTF-8 bytes in <see cref="ByteLevelAlphabet"/> (a ByteLevel pre-tokenizer or decoder).</summary>
    public bool ByteLevel { get; }

    public bool IgnoreMerges { get; }

    public bool ByteFallback { get; }

    public string? UnknownToken { get; }

    public bool FuseUnknown { get; }

    /// <summary>An entry of <c>added_tokens</c>: matched as a whole in text, before the model sees it.</summary>
    public sealed record AddedToken(string Content, int Id, bool Special, bool LStrip = false, bool RStrip = false, bool Normalized = false);

    /// <summary>
    /// Reads the file. A malformed file throws <see cref="TokenizerLoadException"/>; a well-formed file with a model
    /// other than BPE (Unigram, WordPiece) returns null and the reason, so the caller can fall back to
    /// <c>tokenizer.model</c> or report it.
    /// </summary>
    /// <remarks>
    /// The vocabulary and merges (hundreds of thousands of entries for Llama 3 and Qwen) are read straight from a
    /// <see cref="Utf8JsonReader"/>; only the small parts become <see cref="JsonElement"/>s.
    /// </remarks>
    public static HfTokenizerJson? Read(string path, out string? unsupportedReason)
    {
        ReadOnlySpan<byte> bytes = HfJson.ReadBytes(path);
        if (bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        var root = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var model = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        Dictionary<string, int>? vocab = null;
        List<(int, int, int)>? merges = null;
        List<(string, string)>? mergeStrings = null;
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new TokenizerLoadException(path, "must hold a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name != "model" || reader.TokenType != JsonTokenType.StartObject)
                {
                    root[name] = JsonElement.ParseValue(ref reader);
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string field = reader.GetString()!;
                    reader.Read();
                    if (field == "vocab" && reader.TokenType == JsonTokenType.StartObject)
                    {
                        vocab = ReadVocabulary(ref reader, path);
                    }
                    else if (field == "merges" && reader.TokenType == JsonTokenType.StartArray)
                    {
                        if (vocab is not null)
                        {
                            merges = ReadMerges(ref reader, vocab, path);
                        }
                        else
                        {
                            mergeStrings = ReadMergeStrings(ref reader, path);
                        }
                    }
                    else
                    {
                        model[field] = JsonElement.ParseValue(ref reader);
                    }
                }

                root["model"] = default;
            }
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : string.Empty;
            throw new TokenizerLoadException(path, $"is not valid JSON{where}: {e.Message}", e);
        }

        if (!root.ContainsKey("model"))
        {
            throw new TokenizerLoadException(path, "field 'model' must be a JSON object.");
        }

        string type = Optional(model, "type") is JsonElement t
            ? (t.ValueKind == JsonValueKind.String ? t.GetString()! : throw new TokenizerLoadException(path, "field 'model.type' must be a string."))
            : "BPE";
        if (type != "BPE")
        {
            unsupportedReason = $"field 'model.type' is '{type}'; only 'BPE' models are supported.";
            return null;
        }

        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (Optional(model, affix) is { ValueKind: JsonValueKind.String } value && value.GetString() is { Length: > 0 } text)
            {
                throw new TokenizerLoadException(path, $"field 'model.{affix}' is \"{text}\"; only an empty or null one is supported.");
            }
        }

        if (Optional(model, "dropout") is { ValueKind: JsonValueKind.Number } dropout && dropout.GetDouble() > 0)
        {
            throw new TokenizerLoadException(path, "field 'model.dropout' is set; BPE dropout (a training-time option) is not supported.");
        }

        if (vocab is null)
        {
            throw new TokenizerLoadException(path, "field 'model.vocab' is missing or not an object; expected an object mapping token to id.");
        }

        if (merges is null && mergeStrings is not null)
        {
            // "merges" came before "vocab" in the file: resolve them now.
            merges = HfBpeModel.ResolveMerges(vocab, mergeStrings, message => new TokenizerLoadException(path, message));
        }

        if (merges is null)
        {
            throw new TokenizerLoadException(path, "field 'model.merges' is missing or not an array; expected \"a b\" strings or [\"a\", \"b\"] pairs.");
        }

        List<AddedToken> added = ReadAddedTokens(Optional(root, "added_tokens"), path);
        HfNormalizer? normalizer = HfNormalizer.Parse(Optional(root, "normalizer"), path, "normalizer");
        HfPreTokenizer preTokenizer = HfPreTokenizer.Parse(Optional(root, "pre_tokenizer"), path, "pre_tokenizer");
        JsonElement? decoderElement = Optional(root, "decoder");
        HfDecoder decoder = HfDecoder.Parse(decoderElement, path, "decoder");
        bool byteLevel = preTokenizer.IsByteLevel || HasStep(decoderElement, "decoders", "ByteLevel");
        string? unknown = Optional(model, "unk_token") is JsonElement unk
            ? (unk.ValueKind == JsonValueKind.String ? unk.GetString() : throw new TokenizerLoadException(path, "field 'model.unk_token' must be a string."))
            : null;

        unsupportedReason = null;
        return new HfTokenizerJson(
            vocab, merges, added, normalizer, preTokenizer, decoder, byteLevel,
            ignoreMerges: Optional(model, "ignore_merges") is { ValueKind: JsonValueKind.True },
            byteFallback: Optional(model, "byte_fallback") is { ValueKind: JsonValueKind.True },
            unknownToken: unknown,
            fuseUnknown: Optional(model, "fuse_unk") is { ValueKind: JsonValueKind.True });
    }

    private static JsonElement? Optional(Dictionary<string, JsonElement> properties, string name) =>
        properties.TryGetValue(name, out JsonElement value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? value : null;

    private static Dictionary<string, int> ReadVocabulary(ref Utf8JsonReader reader, string path)
    {
        var vocab = new Dictionary<string, int>(1 << 17, StringComparer.Ordinal);
        var tokensById = new Dictionary<int, string>(1 << 17);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string token = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int id) || id < 0)
            {
                throw new TokenizerLoadException(path, $"field 'model.vocab[\"{token}\"]' must be a non-negative integer id.");
            }

            HfJson.AddVocabularyEntry(vocab, tokensById, token, id, path, "model.vocab");
        }

        return vocab;
    }

    private static bool HasStep(JsonElement? element, string listName, string type)
    {
        if (element is not { ValueKind: JsonValueKind.Object } value)
        {
            return false;
        }

        if (value.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString() == type)
        {
            return true;
        }

        return HfJson.Property(value, listName) is { ValueKind: JsonValueKind.Array } list
            && list.EnumerateArray().Any(step => HasStep(step, listName, type));
    }

    /// <summary>
    /// Reads the merges straight to ids: each merge is copied into one buffer as left + right (the space dropped), so
    /// the parts and the merged token are looked up as spans without allocating strings.
    /// </summary>
    private static List<(int, int, int)> ReadMerges(ref Utf8JsonReader reader, Dictionary<string, int> vocab, string path)
    {
        var bySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        var result = new List<(int, int, int)>(vocab.Count);
        char[] buffer = new char[1024];
        int i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            int leftLength, length;
            if (reader.TokenType == JsonTokenType.String)
            {
                int n = Copy(ref reader, ref buffer, 0);
                leftLength = Array.IndexOf(buffer, ' ', 0, n);
                if (leftLength <= 0 || leftLength == n - 1 || Array.IndexOf(buffer, ' ', leftLength + 1, n - leftLength - 1) >= 0)
                {
                    throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' is \"{new string(buffer, 0, n)}\"; expected two tokens separated by one space.");
                }

                Array.Copy(buffer, leftLength + 1, buffer, leftLength, n - leftLength - 1);
                length = n - 1;
            }
            else if (reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                leftLength = Copy(ref reader, ref buffer, 0);
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' must be a \"a b\" string or a [\"a\", \"b\"] pair.");
                }

                length = leftLength + Copy(ref reader, ref buffer, leftLength);
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
                {
                    throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' must be a \"a b\" string or a [\"a\", \"b\"] pair.");
                }
            }
            else
            {
                throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' must be a \"a b\" string or a [\"a\", \"b\"] pair.");
            }

            ReadOnlySpan<char> all = buffer.AsSpan(0, length);
            if (!bySpan.TryGetValue(all[..leftLength], out int left) || !bySpan.TryGetValue(all[leftLength..], out int right)
                || !bySpan.TryGetValue(all, out int merged))
            {
                throw new TokenizerLoadException(path,
                    $"merge {i} (\"{all[..leftLength]} {all[leftLength..]}\") has a part or a result that is not in the vocabulary.");
            }

            result.Add((left, right, merged));
            i++;
        }

        return result;
    }

    private static int Copy(ref Utf8JsonReader reader, ref char[] buffer, int offset)
    {
        int needed = offset + (reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length);
        if (buffer.Length < needed)
        {
            Array.Resize(ref buffer, needed * 2);
        }

        return reader.CopyString(buffer.AsSpan(offset));
    }

    private static List<(string, string)> ReadMergeStrings(ref Utf8JsonReader reader, string path)
    {
        var result = new List<(string, string)>(1 << 16);
        int i = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                string text = reader.GetString()!;
                int space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                {
                    throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' is \"{text}\"; expected two tokens separated by one space.");
                }

                result.Add((text[..space], text[(space + 1)..]));
            }
            else if (reader.TokenType == JsonTokenType.StartArray
                && reader.Read() && reader.TokenType == JsonTokenType.String && reader.GetString() is string left
                && reader.Read() && reader.TokenType == JsonTokenType.String && reader.GetString() is string right
                && reader.Read() && reader.TokenType == JsonTokenType.EndArray)
            {
                result.Add((left, right));
            }
            else
            {
                throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' must be a \"a b\" string or a [\"a\", \"b\"] pair.");
            }

            i++;
        }

        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement? element, string path)
    {
        var result = new List<AddedToken>();
        if (element is null)
        {
            return result;
        }

        if (element.Value.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerLoadException(path, "field 'added_tokens' must be an array.");
        }

        int i = 0;
        foreach (JsonElement token in element.Value.EnumerateArray())
        {
            string jsonPath = $"added_tokens[{i++}]";
            JsonElement id = HfJson.Property(token, "id")
                ?? throw new TokenizerLoadException(path, $"field '{jsonPath}.id' is missing.");
            string content = HfJson.OptionalString(token, "content", path, jsonPath + ".content")
                ?? throw new TokenizerLoadException(path, $"field '{jsonPath}.content' is missing.");
            bool Flag(string name) => HfJson.Property(token, name) is { ValueKind: JsonValueKind.True };
            result.Add(new AddedToken(content, HfJson.RequireInt(id, path, jsonPath + ".id"), Flag("special"),
                Flag("lstrip"), Flag("rstrip"), Flag("normalized")));
        }

        return result;
    }
}
