using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>Options of the <see cref="BpeTrainer"/>.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>The GPT-2 end-of-text token, the default bos / eos / pad token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Target vocabulary size, special tokens and the 256 byte symbols included. 1536.</summary>
    public int VocabSize { get; init; } = 1536;

    /// <summary>Special tokens, given the first ids in this order. <c>[&lt;|endoftext|&gt;]</c>.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [EndOfText];

    /// <summary>A pair seen fewer times than this is never merged (training stops early). 2.</summary>
    public int MinPairFrequency { get; init; } = 2;

    /// <summary>Beginning-of-sequence token written to <c>tokenizer_config.json</c>. <see cref="EndOfText"/>.</summary>
    public string BosToken { get; init; } = EndOfText;

    /// <summary>End-of-sequence token. <see cref="EndOfText"/>.</summary>
    public string EosToken { get; init; } = EndOfText;

    /// <summary>Padding token. <see cref="EndOfText"/>.</summary>
    public string PadToken { get; init; } = EndOfText;
}

/// <summary>
/// Trains a GPT-2 style byte-level BPE tokenizer: text is split with the GPT-2 regex, each piece mapped to its UTF-8
/// bytes in the <see cref="ByteLevelAlphabet"/>, and the most frequent adjacent pair is merged until the vocabulary
/// reaches <see cref="BpeTrainerOptions.VocabSize"/>. Pairs are counted over unique pieces weighted by frequency and
/// updated incrementally, only in the pieces a merge touches. Ties go to the ordinally smallest (left, right) pair, so
/// training is deterministic.
/// </summary>
public sealed class BpeTrainer
{
    private readonly BpeTrainerOptions _options;

    /// <summary>Creates a trainer (default options when null).</summary>
    public BpeTrainer(BpeTrainerOptions? options = null)
    {
        _options = options ?? new BpeTrainerOptions();
        int minimum = _options.SpecialTokens.Count + 256;
        if (_options.VocabSize < minimum)
        {
            throw new ArgumentException($"VocabSize must be at least {minimum} (special tokens + 256 bytes).", nameof(options));
        }
        foreach (var token in new[] { _options.BosToken, _options.EosToken, _options.PadToken })
        {
            if (!_options.SpecialTokens.Contains(token))
            {
                throw new ArgumentException($"Token '{token}' must be one of SpecialTokens.", nameof(options));
            }
        }
    }

    /// <summary>Learns merges from <paramref name="texts"/> (special tokens inside them are not split or merged).</summary>
    /// <param name="texts">The training documents.</param>
    /// <param name="progress">Receives the number of merges learned, every 100 merges and at the end.</param>
    /// <param name="cancellationToken">Stops training.</param>
    public BpeModel Train(IEnumerable<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);

        // 1. Unique pre-tokenised pieces and their frequencies.
        var pieceCounts = new Dictionary<string, long>(StringComparer.Ordinal);
        var regex = Gpt2PreTokenizer.Regex();
        foreach (string text in texts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (string chunk in BpeModel.SplitSpecial(text, _options.SpecialTokens))
            {
                if (_options.SpecialTokens.Contains(chunk))
                {
                    continue;
                }
                foreach (var match in regex.EnumerateMatches(chunk))
                {
                    string piece = chunk.Substring(match.Index, match.Length);
                    pieceCounts[piece] = pieceCounts.GetValueOrDefault(piece) + 1;
                }
            }
        }

        // 2. Symbols: 0..255 are the bytes; merges append. Pieces become symbol arrays, in a fixed order.
        var symbols = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.Characters[b].ToString()).ToList();
        var byteSymbol = new Dictionary<char, int>();
        for (int b = 0; b < 256; b++)
        {
            byteSymbol[ByteLevelAlphabet.Characters[b]] = b;
        }
        var ordered = pieceCounts.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        var words = new int[ordered.Length][];
        var freqs = new long[ordered.Length];
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < ordered.Length; w++)
        {
            words[w] = ByteLevelAlphabet.Encode(ordered[w].Key).Select(c => byteSymbol[c]).ToArray();
            freqs[w] = ordered[w].Value;
            AddPairs(w, words[w], freqs[w], pairCounts, pairWords);
        }

        // 3. Merge the most frequent pair until the vocabulary is full.
        var merges = new List<(string Left, string Right)>();
        int target = _options.VocabSize - _options.SpecialTokens.Count;
        while (symbols.Count < target && pairCounts.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long best = -1;
            long bestCount = 0;
            foreach (var (pair, count) in pairCounts)
            {
                if (count > bestCount || (count == bestCount && ComparePairs(pair, best, symbols) < 0))
                {
                    best = pair;
                    bestCount = count;
                }
            }
            if (bestCount < _options.MinPairFrequency)
            {
                break;
            }
            int left = (int)(best >> 32), right = (int)(best & 0xFFFFFFFF);
            int merged = symbols.Count;
            symbols.Add(symbols[left] + symbols[right]);
            merges.Add((symbols[left], symbols[right]));

            foreach (int w in pairWords[best].ToArray())
            {
                int[] before = words[w];
                int[] after = Merge(before, left, right, merged);
                if (after.Length == before.Length)
                {
                    continue;
                }
                RemovePairs(before, freqs[w], pairCounts);
                AddPairs(w, after, freqs[w], pairCounts, pairWords);
                words[w] = after;
            }
            pairCounts.Remove(best);
            pairWords.Remove(best);
            if (merges.Count % 100 == 0)
            {
                progress?.Report(merges.Count);
            }
        }
        progress?.Report(merges.Count);
        return BpeModel.FromMerges(_options, merges);
    }

    private static int ComparePairs(long a, long b, List<string> symbols)
    {
        if (b < 0)
        {
            return -1;
        }
        int c = string.CompareOrdinal(symbols[(int)(a >> 32)], symbols[(int)(b >> 32)]);
        return c != 0 ? c : string.CompareOrdinal(symbols[(int)(a & 0xFFFFFFFF)], symbols[(int)(b & 0xFFFFFFFF)]);
    }

    private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    private static void AddPairs(int w, int[] word, long freq, Dictionary<long, long> counts, Dictionary<long, HashSet<int>> where)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long pair = Pair(word[i], word[i + 1]);
            counts[pair] = counts.GetValueOrDefault(pair) + freq;
            if (!where.TryGetValue(pair, out var set))
            {
                where[pair] = set = [];
            }
            set.Add(w);
        }
    }

    private static void RemovePairs(int[] word, long freq, Dictionary<long, long> counts)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long pair = Pair(word[i], word[i + 1]);
            long left = counts[pair] - freq;
            if (left <= 0)
            {
                counts.Remove(pair);
            }
            else
            {
                counts[pair] = left;
            }
        }
    }

    private static int[] Merge(int[] word, int left, int right, int merged)
    {
        var result = new List<int>(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == left && word[i + 1] == right)
            {
                result.Add(merged);
                i++;
            }
            else
            {
                result.Add(word[i]);
            }
        }
        return result.Count == word.Length ? word : result.ToArray();
    }
}
