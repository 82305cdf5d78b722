using Almost.Data;
using Almost.Synthetic.Filters;

namespace Almost.TinyWorld.RewardModeling;

/// <summary>
/// Preference pairs from zoo samples. <see cref="Synthetic"/> is the pipeline's side (rule of thumb and heuristic
/// filter, no oracle); the <c>Oracle*</c> methods build test pairs ordered by the hidden oracle, for evaluation only.
/// </summary>
public static class TinyWorldComparisons
{
    /// <summary>
    /// The reference heuristic filter (<see cref="HeuristicResponseFilter"/>) with TinyWorld's minimum length of 20
    /// characters (the findings: 50 drops the better, short careful answers).
    /// </summary>
    public static HeuristicResponseFilter Filter { get; } = new(new HeuristicFilterOptions { MinLength = 20 });

    /// <summary>Whether <paramref name="response"/> passes <see cref="Filter"/>.</summary>
    public static bool PassesFilter(string response) => Filter.Check("", response).Count == 0;

    /// <summary>
    /// Synthetic comparisons (ALMoST stage 2, no oracle): per task and sample index, the configurations' responses that
    /// pass the filter, sorted by the rule of thumb's rank, paired as a chain of adjacent ranks (chosen = better rank);
    /// identical texts are skipped. No length guard (it points the wrong way in TinyWorld, see the findings).
    /// </summary>
    public static IReadOnlyList<(int Task, PreferenceRecord Pair)> Synthetic(IEnumerable<ZooSample> samples)
    {
        var rank = ZooSampler.Configurations.ToDictionary(c => c.Name, c => c.Rank);
        var pairs = new List<(int, PreferenceRecord)>();
        foreach (var group in samples.GroupBy(s => (s.Task, s.Sample)).OrderBy(g => g.Key))
        {
            var ranked = group.Where(s => PassesFilter(s.Response)).OrderBy(s => rank[s.Configuration]).ToList();
            for (int i = 0; i + 1 < ranked.Count; i++)
            {
                if (ranked[i].Response != ranked[i + 1].Response)
                {
                    pairs.Add((group.Key.Task, new PreferenceRecord { Prompt = ranked[i].Prompt, Chosen = ranked[i].Response, Rejected = ranked[i + 1].Response }));
                }
            }
        }

        return pairs;
    }

    /// <summary>
    /// Oracle-ordered pairs of different configurations' answers to the same task (sample 0 of each; every pair of
    /// configurations), keeping the pairs the oracle decides (score gap at least its tie ε).
    /// </summary>
    public static IReadOnlyList<PreferenceRecord> OracleAcrossConfigurations(IEnumerable<ZooSample> samples, IReadOnlyList<TinyTask> tasks, Oracle oracle) =>
        samples.Where(s => s.Sample == 0).GroupBy(s => s.Task)
            .SelectMany(g => OrderedPairs(g.OrderBy(s => s.Configuration, StringComparer.Ordinal).ToList(), tasks[g.Key], oracle))
            .ToList();

    /// <summary>
    /// Oracle-ordered pairs of samples of the same prompt and configuration (every pair of samples), the choice
    /// best-of-N selection makes; only pairs the oracle decides.
    /// </summary>
    public static IReadOnlyList<PreferenceRecord> OracleWithinPrompt(IEnumerable<ZooSample> samples, string configuration, IReadOnlyList<TinyTask> tasks, Oracle oracle) =>
        samples.Where(s => s.Configuration == configuration).GroupBy(s => s.Task)
            .SelectMany(g => OrderedPairs(g.OrderBy(s => s.Sample).ToList(), tasks[g.Key], oracle))
            .ToList();

    private static IEnumerable<PreferenceRecord> OrderedPairs(IReadOnlyList<ZooSample> candidates, TinyTask task, Oracle oracle)
    {
        for (int i = 0; i < candidates.Count; i++)
        {
            for (int j = i + 1; j < candidates.Count; j++)
            {
                var (a, b) = (candidates[i], candidates[j]);
                int preferred = oracle.Prefer(task, a.Response, b.Response);
                if (preferred != 0)
                {
                    var (chosen, rejected) = preferred > 0 ? (a, b) : (b, a);
                    yield return new PreferenceRecord { Prompt = a.Prompt, Chosen = chosen.Response, Rejected = rejected.Response };
                }
            }
        }
    }
}
