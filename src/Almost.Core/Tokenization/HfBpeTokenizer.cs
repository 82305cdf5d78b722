using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace Almost.Tokenization;

/// <summary>
/// A Hugging Face BPE tokenizer (<c>tokenizer.json</c>, or <c>vocab.json</c> + <c>merges.txt</c>) as a
/// Microsoft.ML.Tokenizers <see cref="Tokenizer"/>, with Hugging Face's pipeline: added tokens are found in the raw
/// text; each piece between them is normalized (<see cref="HfNormalizer"/>, exposed as <see cref="Normalizer"/>),
/// pre-tokenized (<see cref="HfPreTokenizer"/>) and run through the BPE model (<see cref="HfBpeModel"/>); decoding
/// runs the file's decoder (<see cref="HfDecoder"/>).
/// </summary>
/// <remarks>
/// Token offsets from <see cref="Tokenizer.EncodeToTokens(string, out string?, bool, bool)"/> are those of the
/// added token, or of the whole text between added tokens, that each token came from: normalizers and
/// byte-level mapping do not keep finer offsets here.
/// </remarks>
internal sealed class HfBpeTokenizer : Tokenizer
{
    private readonly HfBpeModel _model;
    private readonly HfNormalizer? _normalizer;
    private readonly HfPreTokenizer _preTokenizer;
    private readonly HfDecoder _decoder;
    private readonly AddedTokenSplitter _rawTokens;
    private readonly AddedTokenSplitter _normalizedTokens;
    private readonly Dictionary<int, string> _addedById = [];

    public HfBpeTokenizer(
        HfBpeModel model,
        HfNormalizer? normalizer,
        HfPreTokenizer preTokenizer,
        HfDecoder decoder,
        IReadOnlyCollection<HfTokenizerJson.AddedToken> addedTokens)
    {
        _model = model;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _decoder = decoder;

        // Hugging Face matches tokens marked "normalized" in normalized text, the others in the raw text.
        _rawTokens = new AddedTokenSplitter(addedTokens.Where(t => !t.Normalized || normalizer is null));
        _normalizedTokens = new AddedTokenSplitter(addedTokens.Where(t => t.Normalized && normalizer is not null));
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (HfTokenizerJson.AddedToken token in addedTokens)
        {
            _addedById[token.Id] = token.Content;
            if (token.Special)
            {
                special[token.Content] = token.Id;
            }
        }

        SpecialTokens = special;
    }

    /// <summary>The BPE model (vocabulary and merges), for exporters.</summary>
    public HfBpeModel Model => _model;

    /// <summary>The pre-tokenizer, for exporters that must name it.</summary>
    public HfPreTokenizer HfPreTokenizer => _preTokenizer;

    /// <summary>The model's vocabulary (token → id), without the added tokens.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _model.Vocabulary;

    /// <summary>The model's largest id (added tokens not counted).</summary>
    public int MaxId => _model.MaxId;

    /// <summary>The model's token of an id, or null.</summary>
    public string? IdToToken(int id) => _model.IdToToken(id);

    /// <summary>The added tokens marked special (text → id).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    public override Normalizer? Normalizer => _normalizer;

    /// <summary>Encodes text to ids, appending to <paramref name="ids"/>.</summary>
    public void EncodeTo(string text, List<int> ids) => Encode(text, ids, null);

    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        var ids = new List<int>();
        Encode(input, ids, null);
        Truncate(ids, settings.MaxTokenCount);
        return new EncodeResults<int> { Tokens = ids, NormalizedText = null, CharsConsumed = input.Length };
    }

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string input = text ?? textSpan.ToString();
        var ids = new List<int>();
        var ranges = new List<Range>();
        Encode(input, ids, ranges);
        Truncate(ids, settings.MaxTokenCount);
        var tokens = new List<EncodedToken>(ids.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            tokens.Add(new EncodedToken(ids[i], TokenOf(ids[i]) ?? string.Empty, ranges[i]));
        }

        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = input.Length };
    }

    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        EncodeToIds(text, textSpan, settings).Tokens.Count;

    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            if (TokenOf(id) is string token)
            {
                tokens.Add(token);
            }
        }

        return _decoder.Decode(tokens);
    }

    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int[] all = [.. ids];
        string text = Decode(all);
        if (text.Length <= destination.Length)
        {
            text.CopyTo(destination);
            idsConsumed = all.Length;
            charsWritten = text.Length;
            return OperationStatus.Done;
        }

        // The longest prefix of the ids whose text fits.
        int count = all.Length - 1;
        while (count > 0 && Decode(all.AsSpan(0, count).ToArray()).Length > destination.Length)
        {
            count--;
        }

        string prefix = Decode(all.AsSpan(0, count).ToArray());
        prefix.CopyTo(destination);
        idsConsumed = count;
        charsWritten = prefix.Length;
        return OperationStatus.DestinationTooSmall;
    }

    private string? TokenOf(int id) => _addedById.TryGetValue(id, out string? added) ? added : _model.IdToToken(id);

    private void Encode(string text, List<int> ids, List<Range>? ranges)
    {
        var pieces = new List<string>();
        foreach (var (start, length, token) in _rawTokens.IsEmpty ? [(0, text.Length, null)] : _rawTokens.Split(text))
        {
            int before = ids.Count;
            if (token is not null)
            {
                ids.Add(token.Id);
            }
            else
            {
                string segment = text.Substring(start, length);
                string normalized = _normalizer?.Normalize(segment) ?? segment;
                var inner = _normalizedTokens.IsEmpty ? [(0, normalized.Length, null)] : _normalizedTokens.Split(normalized);
                foreach (var (innerStart, innerLength, innerToken) in inner)
                {
                    if (innerToken is not null)
                    {
                        ids.Add(innerToken.Id);
                        continue;
                    }

                    pieces.Clear();
                    string part = innerStart == 0 && innerLength == normalized.Length ? normalized : normalized.Substring(innerStart, innerLength);
                    _preTokenizer.Split(part, atTextStart: start == 0 && innerStart == 0, pieces);
                    foreach (string piece in pieces)
                    {
                        _model.Encode(piece, ids);
                    }
                }
            }

            if (ranges is not null)
            {
                for (int i = before; i < ids.Count; i++)
                {
                    ranges.Add(new Range(start, start + length));
                }
            }
        }
    }

    private static void Truncate(List<int> ids, int maxTokenCount)
    {
        if (maxTokenCount > 0 && ids.Count > maxTokenCount)
        {
            ids.RemoveRange(maxTokenCount, ids.Count - maxTokenCount);
        }
    }
}
