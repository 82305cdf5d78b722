using System.Text;
using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>
/// A trained byte-level BPE vocabulary: special tokens first, then the 256 byte symbols in byte order, then one token
/// per merge. It saves the Hugging Face files through Core's <see cref="HfTokenizerFiles"/> (loaded at run time by
/// <see cref="AlmostTokenizer.FromFolder"/>, i.e. Microsoft.ML.Tokenizers, and by <c>transformers</c>), and has a small
/// reference encoder (<see cref="Encode"/>) to check them against.
/// </summary>
public sealed class BpeModel
{
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
        tokens.AddRange(ByteLevelAlphabet.Characters.Select(c => c.ToString()));
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
            foreach (var match in Gpt2PreTokenizer.Regex().EnumerateMatches(chunk))
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
                text.Append(Encoding.UTF8.GetString(ByteLevelAlphabet.DecodeBytes(symbols.ToString()))).Append(_tokens[id]);
                symbols.Clear();
            }
            else
            {
                symbols.Append(_tokens[id]);
            }
        }
        return text.Append(Encoding.UTF8.GetString(ByteLevelAlphabet.DecodeBytes(symbols.ToString()))).ToString();
    }

    /// <summary>
    /// Writes the Hugging Face files with Core's <see cref="HfTokenizerFiles.WriteByteLevelBpe"/>: <c>vocab.json</c>,
    /// <c>merges.txt</c> (first line <c>#version: 0.2</c>), <c>tokenizer.json</c> and <c>tokenizer_config.json</c>,
    /// each to a temporary file renamed into place. <see cref="AlmostTokenizer.FromFolder"/> loads them.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < _options.SpecialTokens.Count; id++)
        {
            specials.Add(_options.SpecialTokens[id], id);
        }
        HfTokenizerFiles.WriteByteLevelBpe(
            directory, _vocabulary, Merges.ToList(), specials, _options.BosToken, _options.EosToken, _options.PadToken);
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
}
