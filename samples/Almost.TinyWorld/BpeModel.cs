using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Almost.TinyWorld;

/// <summary>
/// A trained byte-level BPE vocabulary: special tokens first, then the 256 byte symbols in byte order, then one token
/// per merge. It writes the Hugging Face files (<c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>) that Microsoft.ML.Tokenizers and <c>transformers</c>
/// load, and has a small reference encoder (<see cref="Encode"/>) to check them against.
/// </summary>
public sealed class BpeModel
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly BpeTrainerOptions _options;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly string[] _tokens;
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(BpeTrainerOptions options, List<(string Left, string Right)> merges)
    {
        _options = options;
        Merges = merges;
        var tokens = new List<string>(options.SpecialTokens);
        tokens.AddRange(ByteLevelAlphabet.Table.Select(c => c.ToString()));
        tokens.AddRange(merges.Select(m => m.Left + m.Right));
        _tokens = tokens.ToArray();
        _vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < _tokens.Length; id++)
        {
            _vocabulary.Add(_tokens[id], id);
        }
        _ranks = new Dictionary<(string, string), int>();
        for (int r = 0; r < merges.Count; r++)
        {
            _ranks[(merges[r].Left, merges[r].Right)] = r;
        }
    }

    /// <summary>Token → id, for every token.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocabulary;

    /// <summary>The merges, in rank order (the order they were learned).</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>The special tokens (ids 0 .. n−1).</summary>
    public IReadOnlyList<string> SpecialTokens => _options.SpecialTokens;

    /// <summary>The vocabulary size.</summary>
    public int Count => _tokens.Length;

    internal static BpeModel FromMerges(BpeTrainerOptions options, List<(string Left, string Right)> merges) => new(options, merges);

    /// <summary>
    /// Reference encoder: special tokens map to their ids; other text is split with the GPT-2 regex, mapped to the
    /// byte-level alphabet and merged by rank (lowest first), as Hugging Face and Microsoft.ML.Tokenizers do.
    /// </summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        foreach (string chunk in SplitSpecial(text, _options.SpecialTokens))
        {
            if (_vocabulary.TryGetValue(chunk, out int special) && special < _options.SpecialTokens.Count)
            {
                ids.Add(special);
                continue;
            }
            foreach (var match in ByteLevelAlphabet.Gpt2Regex().EnumerateMatches(chunk))
            {
                string piece = ByteLevelAlphabet.Encode(chunk.Substring(match.Index, match.Length));
                if (!_cache.TryGetValue(piece, out int[]? pieceIds))
                {
                    pieceIds = EncodePiece(piece);
                    _cache[piece] = pieceIds;
                }
                ids.AddRange(pieceIds);
            }
        }
        return ids;
    }

    /// <summary>Decodes ids back to text (special tokens come out as their text).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        var symbols = new StringBuilder();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token ids range over [0, {_tokens.Length}).");
            }
            if (id < _options.SpecialTokens.Count)
            {
                text.Append(ByteLevelAlphabet.Decode(symbols.ToString())).Append(_tokens[id]);
                symbols.Clear();
            }
            else
            {
                symbols.Append(_tokens[id]);
            }
        }
        return text.Append(ByteLevelAlphabet.Decode(symbols.ToString())).ToString();
    }

    /// <summary>
    /// Writes <c>vocab.json</c>, <c>merges.txt</c> (first line <c>#version: 0.2</c>), <c>tokenizer.json</c>,
    /// <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> into <paramref name="directory"/>, each to a
    /// temporary file renamed into place.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "vocab.json"), stream =>
        {
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            WriteVocabulary(json);
        });
        WriteAtomically(Path.Combine(directory, "merges.txt"), stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine("#version: 0.2");
            foreach (var (left, right) in Merges)
            {
                writer.WriteLine($"{left} {right}");
            }
        });
        WriteAtomically(Path.Combine(directory, "tokenizer.json"), stream =>
        {
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            WriteTokenizerJson(json);
        });
        WriteAtomically(Path.Combine(directory, "tokenizer_config.json"), stream =>
        {
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            json.WriteStartObject();
            json.WriteString("tokenizer_class", "GPT2Tokenizer");
            json.WriteString("bos_token", _options.BosToken);
            json.WriteString("eos_token", _options.EosToken);
            json.WriteString("pad_token", _options.PadToken);
            json.WriteString("unk_token", _options.EosToken);
            json.WriteNumber("model_max_length", _options.ModelMaxLength);
            json.WriteBoolean("add_prefix_space", false);
            json.WriteBoolean("add_bos_token", false);
            json.WriteBoolean("clean_up_tokenization_spaces", false);
            json.WriteEndObject();
        });
        WriteAtomically(Path.Combine(directory, "special_tokens_map.json"), stream =>
        {
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            json.WriteStartObject();
            json.WriteString("bos_token", _options.BosToken);
            json.WriteString("eos_token", _options.EosToken);
            json.WriteString("pad_token", _options.PadToken);
            json.WriteString("unk_token", _options.EosToken);
            json.WriteEndObject();
        });
    }

    /// <summary>Splits text around occurrences of special tokens (which come out as their own chunks).</summary>
    internal static IEnumerable<string> SplitSpecial(string text, IReadOnlyList<string> specials)
    {
        int start = 0;
        while (start < text.Length)
        {
            int bestAt = -1;
            string? bestToken = null;
            foreach (string special in specials)
            {
                int at = text.IndexOf(special, start, StringComparison.Ordinal);
                if (at >= 0 && (bestAt < 0 || at < bestAt || (at == bestAt && special.Length > bestToken!.Length)))
                {
                    bestAt = at;
                    bestToken = special;
                }
            }
            if (bestAt < 0)
            {
                yield return text[start..];
                yield break;
            }
            if (bestAt > start)
            {
                yield return text[start..bestAt];
            }
            yield return bestToken!;
            start = bestAt + bestToken!.Length;
        }
    }

    private int[] EncodePiece(string piece)
    {
        var parts = piece.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
            {
                if (_ranks.TryGetValue((parts[i], parts[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                }
            }
            if (bestRank == int.MaxValue)
            {
                break;
            }
            var (left, right) = Merges[bestRank];
            var next = new List<string>(parts.Count);
            for (int i = 0; i < parts.Count; i++)
            {
                if (i + 1 < parts.Count && parts[i] == left && parts[i + 1] == right)
                {
                    next.Add(left + right);
                    i++;
                }
                else
                {
                    next.Add(parts[i]);
                }
            }
            parts = next;
        }
        return parts.Select(p => _vocabulary[p]).ToArray();
    }

    private void WriteVocabulary(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        for (int id = 0; id < _tokens.Length; id++)
        {
            json.WriteNumber(_tokens[id], id);
        }
        json.WriteEndObject();
    }

    private void WriteTokenizerJson(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        for (int id = 0; id < _options.SpecialTokens.Count; id++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", _options.SpecialTokens[id]);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteNull("normalizer");
        json.WriteStartObject("pre_tokenizer");
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", false);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
        json.WriteNull("post_processor");
        json.WriteStartObject("decoder");
        json.WriteString("type", "ByteLevel");
        json.WriteBoolean("add_prefix_space", true);
        json.WriteBoolean("trim_offsets", true);
        json.WriteBoolean("use_regex", true);
        json.WriteEndObject();
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WritePropertyName("vocab");
        WriteVocabulary(json);
        json.WriteStartArray("merges");
        foreach (var (left, right) in Merges)
        {
            json.WriteStringValue($"{left} {right}");
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteAtomically(string path, Action<Stream> write)
    {
        string temp = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
