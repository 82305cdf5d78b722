using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>
/// The parts of a Hugging Face <c>tokenizer.json</c> that describe a byte-level BPE model: <c>model.vocab</c>,
/// <c>model.merges</c> (<c>"a b"</c> strings or <c>["a","b"]</c> pairs), <c>added_tokens</c> and the
/// pre-tokenizer's split patterns. Microsoft.ML.Tokenizers 2.0.1 has no reader for this file.
/// </summary>
internal sealed class HfTokenizerJson
{
    public const string FileName = "tokenizer.json";

    private HfTokenizerJson(Dictionary<string, int> vocab, List<string> merges, List<AddedToken> addedTokens, List<string> splitPatterns)
    {
        Vocab = vocab;
        Merges = merges;
        AddedTokens = addedTokens;
        SplitPatterns = splitPatterns;
    }

    public Dictionary<string, int> Vocab { get; }

    /// <summary>Merges in <c>"a b"</c> form, highest priority first.</summary>
    public List<string> Merges { get; }

    public List<AddedToken> AddedTokens { get; }

    /// <summary>Regex patterns applied in order to split text before BPE (isolated matches).</summary>
    public List<string> SplitPatterns { get; }

    public sealed record AddedToken(string Content, int Id, bool Special);

    /// <summary>
    /// Reads the file. A malformed file throws <see cref="TokenizerLoadException"/>; a well-formed file describing
    /// something other than byte-level BPE returns null and the reason, so the caller can fall back to
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
            unsupportedReason = $"field 'model.type' is '{type}'; only byte-level 'BPE' models are supported.";
            return null;
        }

        if (!IsByteLevel(root))
        {
            unsupportedReason = "field 'pre_tokenizer' has no 'ByteLevel' step; only byte-level BPE is supported "
                + "(SentencePiece-style BPE models load from tokenizer.model).";
            return null;
        }

        List<string>? patterns = ReadSplitPatterns(HfJson.Property(root, "pre_tokenizer"), path, "pre_tokenizer", out unsupportedReason);
        if (patterns is null)
        {
            return null;
        }

        JsonElement vocabElement = HfJson.Property(model, "vocab")
            ?? throw new TokenizerLoadException(path, "field 'model.vocab' is missing; expected an object mapping token to id.");
        Dictionary<string, int> vocab = HfJson.ReadVocabulary(vocabElement, path, "model.vocab");
        List<string> merges = ReadMerges(HfJson.Property(model, "merges"), path);
        List<AddedToken> added = ReadAddedTokens(HfJson.Property(root, "added_tokens"), path);
        unsupportedReason = null;
        return new HfTokenizerJson(vocab, merges, added, patterns);
    }

    private static bool IsByteLevel(JsonElement root) =>
        HasStep(HfJson.Property(root, "pre_tokenizer"), "pretokenizers", "ByteLevel")
        || HasStep(HfJson.Property(root, "decoder"), "decoders", "ByteLevel");

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

    private static List<string>? ReadSplitPatterns(JsonElement? element, string path, string jsonPath, out string? unsupportedReason)
    {
        var patterns = new List<string>();
        unsupportedReason = null;
        if (element is not { ValueKind: JsonValueKind.Object } step)
        {
            patterns.Add(ByteLevelBpe.Gpt2Pattern);
            return patterns;
        }

        string? type = HfJson.OptionalString(step, "type", path, jsonPath + ".type");
        switch (type)
        {
            case "Sequence":
                if (HfJson.Property(step, "pretokenizers") is not { ValueKind: JsonValueKind.Array } list)
                {
                    throw new TokenizerLoadException(path, $"field '{jsonPath}.pretokenizers' must be an array.");
                }

                int i = 0;
                foreach (JsonElement inner in list.EnumerateArray())
                {
                    List<string>? innerPatterns = ReadSplitPatterns(inner, path, $"{jsonPath}.pretokenizers[{i++}]", out unsupportedReason);
                    if (innerPatterns is null)
                    {
                        return null;
                    }

                    patterns.AddRange(innerPatterns);
                }

                return patterns;

            case "ByteLevel":
                if (HfJson.Property(step, "add_prefix_space") is { ValueKind: JsonValueKind.True })
                {
                    unsupportedReason = $"field '{jsonPath}.add_prefix_space' is true; only false is supported.";
                    return null;
                }

                if (HfJson.Property(step, "use_regex") is not { ValueKind: JsonValueKind.False })
                {
                    patterns.Add(ByteLevelBpe.Gpt2Pattern);
                }

                return patterns;

            case "Split":
                string? behavior = HfJson.OptionalString(step, "behavior", path, jsonPath + ".behavior");
                bool invert = HfJson.Property(step, "invert") is { ValueKind: JsonValueKind.True };
                if (behavior != "Isolated" || invert
                    || HfJson.Property(step, "pattern") is not JsonElement pattern
                    || HfJson.OptionalString(pattern, "Regex", path, jsonPath + ".pattern.Regex") is not string regex)
                {
                    unsupportedReason = $"field '{jsonPath}': only a 'Split' with a 'Regex' pattern, behavior 'Isolated' and invert false is supported.";
                    return null;
                }

                // The library keeps only the regex matches; HF also keeps the text between them. The patterns of
                // real models (GPT-2, Llama-3, Qwen2) match every character, where the two agree.
                patterns.Add(regex);
                return patterns;

            case "Digits":
                bool individual = HfJson.Property(step, "individual_digits") is { ValueKind: JsonValueKind.True };
                patterns.Add(individual ? @"\p{N}|[^\p{N}]+" : @"\p{N}+|[^\p{N}]+");
                return patterns;

            default:
                unsupportedReason = $"field '{jsonPath}.type' is '{type}'; supported pre-tokenizers are ByteLevel, Split, Digits and Sequence.";
                return null;
        }
    }

    private static List<string> ReadMerges(JsonElement? element, string path)
    {
        if (element is not { ValueKind: JsonValueKind.Array } merges)
        {
            throw new TokenizerLoadException(path, "field 'model.merges' is missing or not an array; expected \"a b\" strings or [\"a\", \"b\"] pairs.");
        }

        var result = new List<string>(merges.GetArrayLength());
        int i = 0;
        foreach (JsonElement merge in merges.EnumerateArray())
        {
            string jsonPath = $"model.merges[{i++}]";
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                if (text.Split(' ').Length != 2)
                {
                    throw new TokenizerLoadException(path, $"field '{jsonPath}' is \"{text}\"; expected two tokens separated by one space.");
                }

                result.Add(text);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                string left = merge[0].GetString()!;
                string right = merge[1].GetString()!;
                if (left.Contains(' ') || right.Contains(' '))
                {
                    throw new TokenizerLoadException(path, $"field '{jsonPath}' has a token containing a space, which byte-level BPE never produces.");
                }

                result.Add(left + " " + right);
            }
            else
            {
                throw new TokenizerLoadException(path, $"field '{jsonPath}' must be a \"a b\" string or a [\"a\", \"b\"] pair.");
            }
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
            bool special = HfJson.Property(token, "special") is { ValueKind: JsonValueKind.True };
            result.Add(new AddedToken(content, HfJson.RequireInt(id, path, jsonPath + ".id"), special));
        }

        return result;
    }
}
