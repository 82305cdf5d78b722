using Almost.Data;

namespace Almost.Scoring;

/// <summary>
/// Pairwise accuracy of an <see cref="IRewardModel"/> on preference pairs: each pair's chosen and rejected response
/// are scored with the same prompt, and the pair counts as correct when the chosen one scores strictly higher.
/// </summary>
public static class PairwiseEvaluation
{
    /// <summary>Scores every pair (all responses in one <see cref="IRewardModel.ScoreAsync"/> call) and reports the accuracy.</summary>
    /// <param name="rewardModel">The scorer.</param>
    /// <param name="pairs">The pairs.</param>
    /// <param name="categories">One category per pair for a per-category breakdown; null for none.</param>
    /// <param name="cancellationToken">Stops the scoring between batches.</param>
    /// <returns>The accuracy, overall and per category.</returns>
    /// <exception cref="ArgumentException"><paramref name="categories"/> does not have one entry per pair.</exception>
    public static async Task<PairwiseEvaluationResult> EvaluateAsync(
        IRewardModel rewardModel,
        IReadOnlyList<PreferenceRecord> pairs,
        IReadOnlyList<string>? categories = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        ArgumentNullException.ThrowIfNull(pairs);
        if (categories is not null && categories.Count != pairs.Count)
        {
            throw new ArgumentException($"{categories.Count} categories for {pairs.Count} pairs; expected one per pair.", nameof(categories));
        }

        var inputs = new RewardModelInput[pairs.Count * 2];
        for (var i = 0; i < pairs.Count; i++)
        {
            inputs[2 * i] = new RewardModelInput(pairs[i].Prompt, pairs[i].Chosen);
            inputs[(2 * i) + 1] = new RewardModelInput(pairs[i].Prompt, pairs[i].Rejected);
        }

        var scores = await rewardModel.ScoreAsync(inputs, cancellationToken).ConfigureAwait(false);
        if (scores.Count != inputs.Length)
        {
            throw new InvalidOperationException($"The reward model returned {scores.Count} scores for {inputs.Length} inputs; expected one per input.");
        }

        var chosen = Enumerable.Range(0, pairs.Count).Select(i => scores[2 * i]).ToArray();
        var rejected = Enumerable.Range(0, pairs.Count).Select(i => scores[(2 * i) + 1]).ToArray();
        var byCategory = new SortedDictionary<string, PairwiseAccuracy>(StringComparer.Ordinal);
        if (categories is not null)
        {
            foreach (var group in Enumerable.Range(0, pairs.Count).GroupBy(i => categories[i]))
            {
                byCategory[group.Key] = PairwiseAccuracy.FromScores(
                    group.Select(i => chosen[i]).ToArray(), group.Select(i => rejected[i]).ToArray());
            }
        }

        return new PairwiseEvaluationResult(PairwiseAccuracy.FromScores(chosen, rejected), byCategory);
    }

    /// <summary>
    /// Reads a TRL preference JSONL file (<c>{"prompt","chosen","rejected"}</c> per line, strictly: a malformed line
    /// throws naming the file and line) and evaluates <paramref name="rewardModel"/> on it. A string field named by
    /// <paramref name="categoryField"/> (extra fields are kept) gives the per-category breakdown.
    /// </summary>
    /// <param name="rewardModel">The scorer.</param>
    /// <param name="path">The JSONL file.</param>
    /// <param name="categoryField">An extra string field holding each pair's category (e.g. <c>type</c>); null for none.</param>
    /// <param name="cancellationToken">Stops the read and the scoring.</param>
    /// <returns>The accuracy.</returns>
    /// <exception cref="JsonlFormatException">A malformed line, an empty file, or a line without the category field.</exception>
    public static async Task<PairwiseEvaluationResult> EvaluateFileAsync(
        IRewardModel rewardModel,
        string path,
        string? categoryField = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        ArgumentNullException.ThrowIfNull(path);
        var pairs = new List<PreferenceRecord>();
        var categories = categoryField is null ? null : new List<string>();
        await foreach (var entry in JsonlReader.ReadEntriesAsync<PreferenceRecord>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            pairs.Add(entry.Record);
            if (categories is not null)
            {
                categories.Add(entry.Record.Extra is { } extra && extra.TryGetValue(categoryField!, out var value)
                               && value.ValueKind == System.Text.Json.JsonValueKind.String
                    ? value.GetString()!
                    : throw new JsonlFormatException(path, entry.LineNumber, $"missing category field '{categoryField}' (expected a string)"));
            }
        }

        if (pairs.Count == 0)
        {
            throw new JsonlFormatException(path, 0, "empty dataset (expected at least one JSON object line)");
        }

        return await EvaluateAsync(rewardModel, pairs, categories, cancellationToken).ConfigureAwait(false);
    }
}
