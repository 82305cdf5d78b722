namespace Almost.Synthetic.Queries;

/// <summary>
/// ROUGE-L (Lin, 2004): similarity of two texts by the longest common subsequence (LCS) of their tokens, as Google's
/// <c>rouge_score</c> package computes it without stemming: the texts are lower-cased, every run of characters that are
/// not letters or digits separates tokens, and P = LCS / |candidate|, R = LCS / |reference|, F1 = 2PR / (P + R).
/// Self-Instruct and the ALMoST reference reject a new query whose F1 against an existing one is ≥ 0.5.
/// </summary>
public static class RougeL
{
    /// <summary>The tokens ROUGE-L compares: lower-cased runs of letters and digits, in order.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The tokens; empty for a text without letters or digits.</returns>
    public static string[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool word = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                tokens.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }

        return [.. tokens];
    }

    /// <summary>Length of the longest common subsequence of two token sequences (dynamic programming, O(|a|·|b|) time, O(|b|) memory).</summary>
    /// <param name="a">First sequence.</param>
    /// <param name="b">Second sequence.</param>
    /// <returns>The LCS length.</returns>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
            {
                current[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal)
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Count];
    }

    /// <summary>ROUGE-L of token sequences.</summary>
    /// <param name="candidate">Candidate tokens.</param>
    /// <param name="reference">Reference tokens.</param>
    /// <returns>Precision, recall and F1.</returns>
    public static RougeLScore Score(IReadOnlyList<string> candidate, IReadOnlyList<string> reference)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        if (candidate.Count == 0 || reference.Count == 0)
        {
            return new RougeLScore(0, 0, 0);
        }

        int lcs = LongestCommonSubsequence(candidate, reference);
        double precision = lcs / (double)candidate.Count, recall = lcs / (double)reference.Count;
        double f1 = lcs == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new RougeLScore(precision, recall, f1);
    }

    /// <summary>ROUGE-L of two texts (tokenized with <see cref="Tokenize"/>).</summary>
    /// <param name="candidate">Candidate text.</param>
    /// <param name="reference">Reference text.</param>
    /// <returns>Precision, recall and F1.</returns>
    public static RougeLScore Score(string candidate, string reference) => Score(Tokenize(candidate), Tokenize(reference));
}
