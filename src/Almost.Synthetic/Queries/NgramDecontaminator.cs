namespace Almost.Synthetic.Queries;

/// <summary>
/// Finds generated queries that overlap an evaluation prompt set, the way pretraining and fine-tuning pipelines
/// decontaminate against benchmarks: both texts are normalised (lower-cased, punctuation and spacing dropped: the
/// <see cref="RougeL.Tokenize"/> tokens) and a query is contaminated when it shares a word n-gram with an evaluation
/// prompt. Short texts would never share a long n-gram, so the n-gram length is
/// <c>min(<see cref="NgramSize"/>, |query|, |prompt|)</c>: a query or prompt shorter than <see cref="NgramSize"/> words is
/// contaminated when it appears whole, as a contiguous run of words, inside the other.
/// </summary>
/// <remarks>
/// Like every n-gram check it catches copies and near-copies, not paraphrases ("What is 3 plus 4?" and "Can you add 3
/// and 4?" share no 3-gram): to cover paraphrases, put them in the evaluation set.
/// </remarks>
public sealed class NgramDecontaminator
{
    /// <summary>
    /// Default n-gram length: 13 words, GPT-3's benchmark filter. Most chat queries are shorter, so for them the check is
    /// whole containment; shorter n-grams flag shared boilerplate ("can you sort these numbers from smallest to
    /// largest") between different queries (on TinyWorld, n = 8 dropped 111 clean candidates where 13 dropped 10, and
    /// caught the same 30 of 32 copies of evaluation contents).
    /// </summary>
    public const int DefaultNgramSize = 13;

    private readonly Dictionary<string, int> _ngrams = new(StringComparer.Ordinal);      // n-gram -> prompt index
    private readonly Dictionary<string, int> _shortRuns = new(StringComparer.Ordinal);   // every run of < n words -> prompt index
    private readonly Dictionary<int, Dictionary<string, int>> _shortPrompts = [];         // prompts of < n words, by length
    private readonly string[] _prompts;

    /// <summary>Indexes the evaluation prompts.</summary>
    /// <param name="evaluationPrompts">The prompts generated queries must not overlap.</param>
    /// <param name="ngramSize">The n-gram length, ≥ 1; default <see cref="DefaultNgramSize"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ngramSize"/> is below 1.</exception>
    public NgramDecontaminator(IEnumerable<string> evaluationPrompts, int ngramSize = DefaultNgramSize)
    {
        ArgumentNullException.ThrowIfNull(evaluationPrompts);
        ArgumentOutOfRangeException.ThrowIfLessThan(ngramSize, 1);
        NgramSize = ngramSize;
        _prompts = evaluationPrompts.ToArray();
        for (int p = 0; p < _prompts.Length; p++)
        {
            string[] tokens = RougeL.Tokenize(_prompts[p] ?? throw new ArgumentException($"Evaluation prompt {p} is null.", nameof(evaluationPrompts)));
            if (tokens.Length == 0)
            {
                continue;
            }

            if (tokens.Length < ngramSize)
            {
                if (!_shortPrompts.TryGetValue(tokens.Length, out var ofLength))
                {
                    _shortPrompts[tokens.Length] = ofLength = new Dictionary<string, int>(StringComparer.Ordinal);
                }

                ofLength.TryAdd(Join(tokens, 0, tokens.Length), p);
            }

            // Runs a short query may equal: every run shorter than n (only they can be a whole short query).
            for (int length = 1; length < ngramSize && length <= tokens.Length; length++)
            {
                for (int start = 0; start + length <= tokens.Length; start++)
                {
                    _shortRuns.TryAdd(Join(tokens, start, length), p);
                }
            }

            for (int start = 0; start + ngramSize <= tokens.Length; start++)
            {
                _ngrams.TryAdd(Join(tokens, start, ngramSize), p);
            }
        }
    }

    /// <summary>The n-gram length.</summary>
    public int NgramSize { get; }

    /// <summary>Number of evaluation prompts indexed.</summary>
    public int PromptCount => _prompts.Length;

    /// <summary>The first evaluation prompt <paramref name="query"/> overlaps, or null when it is clean.</summary>
    /// <param name="query">A generated query.</param>
    /// <returns>The overlapping evaluation prompt, as given; null when none.</returns>
    public string? FindOverlap(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        string[] tokens = RougeL.Tokenize(query);
        if (tokens.Length == 0)
        {
            return null;
        }

        // A short query inside a prompt (or a prompt exactly as long inside the query).
        if (tokens.Length < NgramSize && _shortRuns.TryGetValue(Join(tokens, 0, tokens.Length), out int inside))
        {
            return _prompts[inside];
        }

        // A short prompt inside the query.
        foreach (var (length, prompts) in _shortPrompts)
        {
            if (length > tokens.Length)
            {
                continue;
            }

            for (int start = 0; start + length <= tokens.Length; start++)
            {
                if (prompts.TryGetValue(Join(tokens, start, length), out int index))
                {
                    return _prompts[index];
                }
            }
        }

        // A shared n-gram of full length.
        for (int start = 0; start + NgramSize <= tokens.Length; start++)
        {
            if (_ngrams.TryGetValue(Join(tokens, start, NgramSize), out int shared))
            {
                return _prompts[shared];
            }
        }

        return null;
    }

    private static string Join(string[] tokens, int start, int length) => string.Join(' ', tokens, start, length);
}
