using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Almost.IO;

namespace Almost.Tokenization;

/// <summary>
/// Writes a byte-level BPE tokenizer in the Hugging Face layout, so a tokenizer trained here opens in Python
/// <c>transformers</c> (<c>AutoTokenizer.from_pretrained(folder)</c>) and in <see cref="TokenizerLoader.FromFolder"/>.
/// </summary>
public static class HfTokenizerFiles
{
    private static readonly JsonWriterOptions s_jsonOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes <c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer.json</c> and <c>tokenizer_config.json</c> into
    /// <paramref name="folder"/> (created if missing). Each file is written to a temporary name and renamed over the
    /// target, so a crash never leaves a half-written file.
    /// </summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="vocab">Token → id; tokens in the <see cref="ByteLevelAlphabet"/>. Special tokens may be included.</param>
    /// <param name="merges">The merges, highest priority first; both parts and their concatenation must be in <paramref name="vocab"/>.</param>
    /// <param name="specialTokens">Special tokens (text → id), written as <c>added_tokens</c>; null for none.</param>
    /// <param name="bosToken">The BOS token, or null.</param>
    /// <param name="eosToken">The EOS token, or null.</param>
    /// <param name="padToken">The PAD token, or null.</param>
    /// <exception cref="ArgumentException">
    /// Ids collide, a merge refers to a token not in the vocabulary, or BOS/EOS/PAD is not a known token.
    /// </exception>
    public static void WriteByteLevelBpe(
        string folder,
        IReadOnlyDictionary<string, int> vocab,
        IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int>? specialTokens = null,
        string? bosToken = null,
        string? eosToken = null,
        string? padToken = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        specialTokens ??= new Dictionary<string, int>();
        Validate(vocab, merges, specialTokens, bosToken, eosToken, padToken);

        // The model vocabulary lists every id once; special tokens missing from it are added (HF requires them in the vocab for vocab.json).
        var fullVocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var (token, id) in specialTokens)
        {
            fullVocab.TryAdd(token, id);
        }

        var ordered = fullVocab.OrderBy(kv => kv.Value).ToList();
        var orderedSpecial = specialTokens.OrderBy(kv => kv.Value).ToList();
        // The four files are replaced together: a failed or killed save never leaves a new vocab.json next to old merges.
        using var transaction = FolderTransaction.Begin(folder);

        transaction.Write(TokenizerLoader.VocabFileName, stream =>
        {
            using var json = new Utf8JsonWriter(stream, s_jsonOptions);
            json.WriteStartObject();
            foreach (var (token, id) in ordered)
            {
                json.WriteNumber(token, id);
            }

            json.WriteEndObject();
        });

        transaction.Write(TokenizerLoader.MergesFileName, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine("#version: 0.2");
            foreach (var (left, right) in merges)
            {
                writer.WriteLine(left + " " + right);
            }
        });

        transaction.Write(TokenizerLoader.TokenizerJsonFileName, stream =>
        {
            using var json = new Utf8JsonWriter(stream, s_jsonOptions);
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteNull("truncation");
            json.WriteNull("padding");
            json.WriteStartArray("added_tokens");
            foreach (var (token, id) in orderedSpecial)
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", token);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("normalized", false);
                json.WriteBoolean("special", true);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNull("normalizer");
            WriteByteLevelStep(json, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            WriteByteLevelStep(json, "post_processor", addPrefixSpace: false, trimOffsets: false);
            WriteByteLevelStep(json, "decoder", addPrefixSpace: true, trimOffsets: true);
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteNull("dropout");
            json.WriteNull("unk_token");
            json.WriteString("continuing_subword_prefix", "");
            json.WriteString("end_of_word_suffix", "");
            json.WriteBoolean("fuse_unk", false);
            json.WriteBoolean("byte_fallback", false);
            json.WriteBoolean("ignore_merges", false);
            json.WriteStartObject("vocab");
            foreach (var (token, id) in ordered)
            {
                json.WriteNumber(token, id);
            }

            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (var (left, right) in merges)
            {
                json.WriteStartArray();
                json.WriteStringValue(left);
                json.WriteStringValue(right);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        });

        transaction.Write(SpecialTokenConfig.ConfigFileName, stream =>
        {
            using var json = new Utf8JsonWriter(stream, s_jsonOptions);
            json.WriteStartObject();
            json.WriteBoolean("add_bos_token", false);
            json.WriteBoolean("add_eos_token", false);
            json.WriteBoolean("add_prefix_space", false);
            json.WriteStartObject("added_tokens_decoder");
            foreach (var (token, id) in orderedSpecial)
            {
                json.WriteStartObject(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("content", token);
                json.WriteBoolean("lstrip", false);
                json.WriteBoolean("normalized", false);
                json.WriteBoolean("rstrip", false);
                json.WriteBoolean("single_word", false);
                json.WriteBoolean("special", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            WriteTokenOrNull(json, "bos_token", bosToken);
            WriteTokenOrNull(json, "eos_token", eosToken);
            WriteTokenOrNull(json, "pad_token", padToken);
            json.WriteNull("unk_token");
            json.WriteBoolean("clean_up_tokenization_spaces", false);
            json.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            json.WriteEndObject();
        });

        transaction.Commit();
    }

    private static void Validate(
        IReadOnlyDictionary<string, int> vocab,
        IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int> specialTokens,
        string? bosToken,
        string? eosToken,
        string? padToken)
    {
        var owners = new Dictionary<int, string>();
        foreach (var (token, id) in vocab.Concat(specialTokens))
        {
            if (id < 0)
            {
                throw new ArgumentException($"Token '{token}' has a negative id {id}.", nameof(vocab));
            }

            if (owners.TryGetValue(id, out string? other) && other != token)
            {
                throw new ArgumentException($"Tokens '{other}' and '{token}' share id {id}.", nameof(vocab));
            }

            owners[id] = token;
        }

        for (int i = 0; i < merges.Count; i++)
        {
            var (left, right) = merges[i];
            foreach (string token in new[] { left, right, left + right })
            {
                if (string.IsNullOrEmpty(token) || token.Contains(' ') || !vocab.ContainsKey(token))
                {
                    throw new ArgumentException($"merges[{i}] ('{left}' '{right}'): '{token}' is not a token of the vocabulary.", nameof(merges));
                }
            }
        }

        foreach (var (name, token) in new[] { ("bosToken", bosToken), ("eosToken", eosToken), ("padToken", padToken) })
        {
            if (token is not null && !specialTokens.ContainsKey(token) && !vocab.ContainsKey(token))
            {
                throw new ArgumentException($"'{token}' is neither a special token nor in the vocabulary.", name);
            }
        }
    }

    private static void WriteByteLevelStep(Utf8JsonWriter json, string name, bool addPrefixSpace, bool trimOffsets)
    {
        json.WriteStartObject(name);
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", addPrefixSpace);
        json.WriteBoolean("trim_offsets", trimOffsets);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
    }

    private static void WriteTokenOrNull(Utf8JsonWriter json, string name, string? token)
    {
        if (token is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, token);
        }
    }
}
