using System.Collections.Concurrent;
using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// Hugging Face's BPE model (<c>tokenizers::models::bpe</c>) for one pre-tokenized piece: byte-level (GPT-2, Llama 3,
/// Qwen) or on code points with byte fallback (LLaMA 2, Mistral). Merges apply lowest rank first and, among equal
/// ranks, leftmost first; <c>ignore_merges</c> takes a piece that is itself in the vocabulary as one token; a code
/// point missing from the vocabulary becomes its UTF-8 <c>&lt;0xXX&gt;</c> tokens (<c>byte_fallback</c>) or the
/// unknown token (fused with its neighbours under <c>fuse_unk</c>).
/// </summary>
/// <remarks>
/// Written here because Microsoft.ML.Tokenizers 2.0.1 cannot express it: <c>BpeOptions</c> has no
/// <c>ignore_merges</c> and no byte fallback, and its SentencePiece BPE merges runs of equal pieces in another order.
/// </remarks>
internal sealed class HfBpeModel
{
    private const int CacheCapacity = 100_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, long> _merges;
    private readonly string?[] _idToToken;
    private readonly int[] _byteIds = new int[256];
    private readonly int[] _byteFallbackIds = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheCount;

    [ThreadStatic]
    private static WordBuffers? t_buffers;

    /// <param name="vocab">Token → id.</param>
    /// <param name="merges">The merges as (left id, right id, merged id), highest priority first.</param>
    /// <param name="byteLevel">Pieces are UTF-8 bytes written in <see cref="ByteLevelAlphabet"/>.</param>
    /// <param name="ignoreMerges">A piece that is in the vocabulary is one token.</param>
    /// <param name="byteFallback">Unknown code points become <c>&lt;0xXX&gt;</c> tokens.</param>
    /// <param name="unknownId">The unknown token's id, or null (unknown code points are dropped).</param>
    /// <param name="fuseUnknown">Consecutive unknown code points make one unknown token.</param>
    /// <param name="ranks">
    /// Each merge's rank, when merges may share one (SentencePiece: pieces of equal score, leftmost first); null
    /// means the position in <paramref name="merges"/>.
    /// </param>
    public HfBpeModel(
        Dictionary<string, int> vocab,
        IReadOnlyCollection<(int Left, int Right, int Merged)> merges,
        bool byteLevel,
        bool ignoreMerges,
        bool byteFallback,
        int? unknownId,
        bool fuseUnknown,
        IReadOnlyList<int>? ranks = null)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = new Dictionary<long, long>(merges.Count);
        Merges = [.. merges];
        long index = 0;
        foreach (var (left, right, merged) in merges)
        {
            // The first of duplicate merges wins, as in Hugging Face (later ones never apply).
            long rank = ranks is null ? index : ranks[(int)index];
            _merges.TryAdd(Key(left, right), (rank << 32) | (uint)merged);
            index++;
        }

        int maxId = vocab.Count == 0 ? -1 : vocab.Values.Max();
        _idToToken = new string?[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            _idToToken[id] ??= token;
        }

        ByteLevel = byteLevel;
        IgnoreMerges = ignoreMerges;
        ByteFallback = byteFallback;
        UnknownId = unknownId;
        FuseUnknown = fuseUnknown;
        for (int b = 0; b < 256; b++)
        {
            _byteIds[b] = vocab.TryGetValue(ByteLevelAlphabet.Characters[b].ToString(), out int id) ? id : -1;
            _byteFallbackIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int fallback) ? fallback : -1;
        }
    }

    public bool ByteLevel { get; }

    /// <summary>Merges (left, right) to ids; a part or result missing from the vocabulary is an error.</summary>
    public static List<(int Left, int Right, int Merged)> ResolveMerges(
        Dictionary<string, int> vocab, List<(string Left, string Right)> merges, Func<string, Exception> error)
    {
        var resolved = new List<(int, int, int)>(merges.Count);
        for (int i = 0; i < merges.Count; i++)
        {
            var (left, right) = merges[i];
            if (!vocab.TryGetValue(left, out int l) || !vocab.TryGetValue(right, out int r) || !vocab.TryGetValue(left + right, out int m))
            {
                throw error($"merge {i} (\"{left} {right}\") has a part or a result that is not in the vocabulary.");
            }

            resolved.Add((l, r, m));
        }

        return resolved;
    }

    public bool IgnoreMerges { get; }

    /// <summary>The merges as given, highest priority first (exporters write them out again).</summary>
    public IReadOnlyList<(int Left, int Right, int Merged)> Merges { get; }

    public bool ByteFallback { get; }

    public int? UnknownId { get; }

    public bool FuseUnknown { get; }

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public int MaxId => _idToToken.Length - 1;

    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    public void Encode(string piece, List<int> ids)
    {
        if (piece.Length == 0)
        {
            return;
        }

        if (_cache.TryGetValue(piece, out int[]? cached))
        {
            ids.AddRange(cached);
            return;
        }

        int[] result = ByteLevel ? EncodeBytes(piece) : EncodeCodePoints(piece);
        // ConcurrentDictionary.Count takes every lock; a counter keeps the miss path cheap.
        if (Interlocked.Increment(ref _cacheCount) > CacheCapacity)
        {
            _cache.Clear();
            Interlocked.Exchange(ref _cacheCount, 0);
        }

        _cache.TryAdd(piece, result);
        ids.AddRange(result);
    }

    private int[] EncodeBytes(string piece)
    {
        int byteCount = Encoding.UTF8.GetByteCount(piece);
        Span<byte> bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(piece, bytes);
        if (IgnoreMerges)
        {
            Span<char> mapped = byteCount <= 512 ? stackalloc char[byteCount] : new char[byteCount];
            for (int i = 0; i < byteCount; i++)
            {
                mapped[i] = ByteLevelAlphabet.Characters[bytes[i]];
            }

            if (_vocabBySpan.TryGetValue(mapped, out int whole))
            {
                return [whole];
            }
        }

        WordBuffers word = Buffers(byteCount);
        foreach (byte b in bytes)
        {
            if (_byteIds[b] >= 0)
            {
                word.Add(_byteIds[b]);
            }
        }

        return MergeAll(word);
    }

    private int[] EncodeCodePoints(string piece)
    {
        if (IgnoreMerges && _vocab.TryGetValue(piece, out int whole))
        {
            return [whole];
        }

        WordBuffers word = Buffers(piece.Length * 4);
        int pendingUnknown = -1;
        for (int i = 0; i < piece.Length;)
        {
            int length = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            ReadOnlySpan<char> symbol = piece.AsSpan(i, length);
            i += length;
            if (_vocabBySpan.TryGetValue(symbol, out int id))
            {
                if (pendingUnknown >= 0)
                {
                    word.Add(pendingUnknown);
                    pendingUnknown = -1;
                }

                word.Add(id);
                continue;
            }

            if (ByteFallback && TryAddFallbackBytes(symbol, word))
            {
                continue;
            }

            if (UnknownId is int unknown)
            {
                // Hugging Face keeps one pending unknown token and emits it before the next known symbol.
                if (pendingUnknown >= 0 && !FuseUnknown)
                {
                    word.Add(pendingUnknown);
                }

                pendingUnknown = unknown;
            }
        }

        if (pendingUnknown >= 0)
        {
            word.Add(pendingUnknown);
        }

        return MergeAll(word);
    }

    /// <summary>Adds the <c>&lt;0xXX&gt;</c> tokens of a code point's UTF-8 bytes, when the vocabulary has them all.</summary>
    private bool TryAddFallbackBytes(ReadOnlySpan<char> symbol, WordBuffers word)
    {
        Span<byte> utf8 = stackalloc byte[8];
        int n = Encoding.UTF8.GetBytes(symbol, utf8);
        for (int b = 0; b < n; b++)
        {
            if (_byteFallbackIds[utf8[b]] < 0)
            {
                return false;
            }
        }

        for (int b = 0; b < n; b++)
        {
            word.Add(_byteFallbackIds[utf8[b]]);
        }

        return true;
    }

    /// <summary>
    /// Hugging Face's <c>Word::merge_all</c>: a queue of adjacent pairs ordered by (rank, position); a popped pair
    /// that no longer exists (a neighbour was merged away) is skipped.
    /// </summary>
    private int[] MergeAll(WordBuffers word)
    {
        int n = word.Count;
        int[] ids = word.Ids, prev = word.Prev, next = word.Next;
        if (n > 1)
        {
            PriorityQueue<int, long> queue = word.Queue;
            queue.Clear();
            for (int i = 0; i + 1 < n; i++)
            {
                if (_merges.TryGetValue(Key(ids[i], ids[i + 1]), out long merge))
                {
                    queue.Enqueue(i, Priority(merge, i));
                }
            }

            while (queue.TryDequeue(out int pos, out long priority))
            {
                int right = next[pos];
                if (ids[pos] < 0 || right < 0
                    || !_merges.TryGetValue(Key(ids[pos], ids[right]), out long merge)
                    || Priority(merge, pos) != priority)
                {
                    continue;
                }

                ids[pos] = (int)(uint)merge;
                ids[right] = -1;
                next[pos] = next[right];
                if (next[pos] >= 0)
                {
                    prev[next[pos]] = pos;
                }

                if (prev[pos] >= 0 && _merges.TryGetValue(Key(ids[prev[pos]], ids[pos]), out long left))
                {
                    queue.Enqueue(prev[pos], Priority(left, prev[pos]));
                }

                if (next[pos] >= 0 && _merges.TryGetValue(Key(ids[pos], ids[next[pos]]), out long after))
                {
                    queue.Enqueue(pos, Priority(after, pos));
                }
            }
        }

        var result = new List<int>(n);
        for (int i = 0; i < n; i++)
        {
            if (ids[i] >= 0)
            {
                result.Add(ids[i]);
            }
        }

        return [.. result];
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Rank in the high bits, position in the low: lower rank first, then leftmost.</summary>
    private static long Priority(long merge, int position) => (merge & ~0xFFFFFFFFL) | (uint)position;

    private static WordBuffers Buffers(int capacity)
    {
        WordBuffers buffers = t_buffers ??= new WordBuffers();
        buffers.Reset(capacity);
        return buffers;
    }

    /// <summary>Per-thread scratch arrays of a word being merged: symbol ids and a doubly linked list.</summary>
    private sealed class WordBuffers
    {
        public int[] Ids = new int[64];
        public int[] Prev = new int[64];
        public int[] Next = new int[64];
        public readonly PriorityQueue<int, long> Queue = new();
        public int Count;

        public void Reset(int capacity)
        {
            if (Ids.Length < capacity)
            {
                int size = Math.Max(capacity, Ids.Length * 2);
                Ids = new int[size];
                Prev = new int[size];
                Next = new int[size];
            }

            Count = 0;
        }

        public void Add(int id)
        {
            Ids[Count] = id;
            Prev[Count] = Count - 1;
            Next[Count] = -1;
            if (Count > 0)
            {
                Next[Count - 1] = Count;
            }

            Count++;
        }
    }
}
