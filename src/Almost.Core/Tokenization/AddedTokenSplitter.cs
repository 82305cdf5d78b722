namespace Almost.Tokenization;

/// <summary>
/// Finds added tokens (special or not) in text as Hugging Face's <c>AddedVocabulary</c> does: leftmost match
/// first and, at one position, the longest; <c>lstrip</c> / <c>rstrip</c> tokens take the whitespace beside them.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, HfTokenizerJson.AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<HfTokenizerJson.AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>
    /// Splits <paramref name="text"/> into pieces: (start, length, token) where token is the matched added token,
    /// or null for the text between matches. Empty text between matches is left out.
    /// </summary>
    public List<(int Start, int Length, HfTokenizerJson.AddedToken? Token)> Split(string text)
    {
        var pieces = new List<(int, int, HfTokenizerJson.AddedToken?)>();
        int textStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out HfTokenizerJson.AddedToken[]? candidates))
            {
                continue;
            }

            HfTokenizerJson.AddedToken? match = null;
            foreach (HfTokenizerJson.AddedToken candidate in candidates)
            {
                if (text.AsSpan(i).StartsWith(candidate.Content, StringComparison.Ordinal))
                {
                    match = candidate;
                    break;
                }
            }

            if (match is null)
            {
                continue;
            }

            int start = i, end = i + match.Content.Length;
            if (match.LStrip)
            {
                while (start > textStart && char.IsWhiteSpace(text[start - 1]))
                {
                    start--;
                }
            }

            if (match.RStrip)
            {
                while (end < text.Length && char.IsWhiteSpace(text[end]))
                {
                    end++;
                }
            }

            if (start > textStart)
            {
                pieces.Add((textStart, start - textStart, null));
            }

            pieces.Add((start, end - start, match));
            textStart = end;
            i = end - 1;
        }

        if (textStart < text.Length)
        {
            pieces.Add((textStart, text.Length - textStart, null));
        }

        return pieces;
    }
}
