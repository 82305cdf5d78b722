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
        Dictionary<string, int> vocab, List<(string Left, string Right)> merges, List<AddedToken> addedTokens,
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

    /// <summary>Merges, highest priority first.</summary>
    public List<(string Left, string Right)> Merges { get; }

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
    public static HfTokenizerJson? Read(string path, out string? unsupportedReason)
    {
        using JsonDocument document = HfJson.Parse(path);
        JsonElement root = document.RootElement;
        JsonElement model = HfJson.RequireObject(HfJson.Property(root, "model"), path, "model");

        string type = HfJson.OptionalString(model, "type", path, "model.type") ?? "BPE";
        if (type != "BPE")
        {
            unsupportedReason = $"field 'model.type' is '{type}'; only 'BPE' models are supported.";
            return null;
        }

        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (HfJson.OptionalString(model, affix, path, "model." + affix) is { Length: > 0 } value)
            {
                throw new TokenizerLoadException(path, $"field 'model.{affix}' is \"{value}\"; only an empty or null one is supported.");
            }
        }

        if (HfJson.Property(model, "dropout") is { ValueKind: JsonValueKind.Number } dropout && dropout.GetDouble() > 0)
        {
            throw new TokenizerLoadException(path, "field 'model.dropout' is set; BPE dropout (a training-time option) is not supported.");
        }

        JsonElement vocabElement = HfJson.Property(model, "vocab")
            ?? throw new TokenizerLoadException(path, "field 'model.vocab' is missing; expected an object mapping token to id.");
        Dictionary<string, int> vocab = HfJson.ReadVocabulary(vocabElement, path, "model.vocab");
        List<(string, string)> merges = ReadMerges(HfJson.Property(model, "merges"), path);
        List<AddedToken> added = ReadAddedTokens(HfJson.Property(root, "added_tokens"), path);

        HfNormalizer? normalizer = HfNormalizer.Parse(HfJson.Property(root, "normalizer"), path, "normalizer");
        HfPreTokenizer preTokenizer = HfPreTokenizer.Parse(HfJson.Property(root, "pre_tokenizer"), path, "pre_tokenizer");
        JsonElement? decoderElement = HfJson.Property(root, "decoder");
        HfDecoder decoder = HfDecoder.Parse(decoderElement, path, "decoder");
        bool byteLevel = preTokenizer.IsByteLevel || HasStep(decoderElement, "decoders", "ByteLevel");

        unsupportedReason = null;
        return new HfTokenizerJson(
            vocab, merges, added, normalizer, preTokenizer, decoder, byteLevel,
            ignoreMerges: HfJson.Property(model, "ignore_merges") is { ValueKind: JsonValueKind.True },
            byteFallback: HfJson.Property(model, "byte_fallback") is { ValueKind: JsonValueKind.True },
            unknownToken: HfJson.OptionalString(model, "unk_token", path, "model.unk_token"),
            fuseUnknown: HfJson.Property(model, "fuse_unk") is { ValueKind: JsonValueKind.True });
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

    private static List<(string, string)> ReadMerges(JsonElement? element, string path)
    {
        if (element is not { ValueKind: JsonValueKind.Array } merges)
        {
            throw new TokenizerLoadException(path, "field 'model.merges' is missing or not an array; expected \"a b\" strings or [\"a\", \"b\"] pairs.");
        }

        var result = new List<(string, string)>(merges.GetArrayLength());
        int i = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                {
                    throw new TokenizerLoadException(path, $"field 'model.merges[{i}]' is \"{text}\"; expected two tokens separated by one space.");
                }

                result.Add((text[..space], text[(space + 1)..]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
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
