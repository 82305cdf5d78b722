using Almost.Synthetic.Queries;

namespace Almost.Synthetic.SelfPlay;

/// <summary>
/// How much each of one turn's candidates agrees with the others: its mean ROUGE-L F1 against every other candidate
/// (the minimum-Bayes-risk view of sampling: a reply that many independent samples share is likelier right than one
/// they contradict). No model and no labels; with one candidate the consensus is 0.
/// </summary>
public static class CandidateConsensus
{
    /// <summary>The consensus of each candidate, in [0, 1], in the order given.</summary>
    /// <param name="candidates">One turn's candidate replies.</param>
    /// <returns>One value per candidate.</returns>
    public static double[] Of(IReadOnlyList<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var n = candidates.Count;
        var result = new double[n];
        if (n < 2)
        {
            return result;
        }

        var tokens = candidates.Select(RougeL.Tokenize).ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                // ROUGE-L F1 is symmetric: compute each pair once.
                var f1 = RougeL.Score(tokens[i], tokens[j]).F1;
                result[i] += f1;
                result[j] += f1;
            }
        }

        for (var i = 0; i < n; i++)
        {
            result[i] /= n - 1;
        }

        return result;
    }
}
