using Almost.Data;
using Almost.Scoring;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Ranking;

namespace Almost.Synthetic.Comparisons;

/// <summary>
/// Turns ranked responses into synthetic comparisons with the ALMoST reference's pairing algorithm. Per query:
/// <list type="number">
/// <item>drop the responses the filter rejects (their reasons are kept in <see cref="SyntheticComparison.Dropped"/>);</item>
/// <item>sort the rest by rubric rank, best first (configuration order within a tier);</item>
/// <item>walk down the ranks: a response can be the chosen side only if neither its configuration nor its rank has been
/// chosen before; it is paired with the next response of a strictly lower rank (equal ranks are skipped), which builds
/// the chain A &gt; B, B &gt; C, ...;</item>
/// <item>with the length guard on, a candidate pair whose chosen response is shorter than the rejected one and shorter
/// than mean − std/2 of the query's kept responses is skipped, and the next lower-ranked response is tried.</item>
/// </list>
/// Lengths are of the trimmed texts; mean and (population) standard deviation are over the kept responses of the query.
/// </summary>
public sealed class ComparisonBuilder
{
    private readonly RankingRubric _rubric;
    private readonly IResponseFilter? _filter;
    private readonly PairingOptions _options;

    /// <summary>Creates the builder.</summary>
    /// <param name="rubric">Ranks the configurations.</param>
    /// <param name="filter">Drops bad responses first; null keeps every non-empty response (the "raw" comparisons).</param>
    /// <param name="options">The length guard; null for the reference's settings.</param>
    public ComparisonBuilder(RankingRubric rubric, IResponseFilter? filter = null, PairingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rubric);
        _rubric = rubric;
        _filter = filter;
        _options = options ?? new PairingOptions();
    }

    /// <summary>Pairs every query's responses.</summary>
    /// <param name="responses">Responses per query (<see cref="ResponseGenerationJob"/>'s output).</param>
    /// <returns>The comparisons and counts.</returns>
    /// <exception cref="RubricException">A response comes from a configuration the rubric does not rank.</exception>
    public PairingResult Build(IReadOnlyList<QueryResponses> responses)
    {
        ArgumentNullException.ThrowIfNull(responses);
        _rubric.EnsureRanks(responses.SelectMany(q => q.Responses).Select(r => r.Configuration));
        var comparisons = new List<SyntheticComparison>();
        var droppedByReason = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int responseCount = 0, dropped = 0, withoutComparison = 0, guardSkips = 0;
        foreach (var query in responses)
        {
            responseCount += query.Responses.Count;
            var kept = new List<(ConfigurationResponse Response, int Rank, int Length)>();
            var droppedHere = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var response in query.Responses)
            {
                string text = response.Text.Trim();
                IReadOnlyList<string> reasons = text.Length == 0 ? [Filters.HeuristicRules.Empty] : _filter?.Check(query.Query.Text, response.Text) ?? [];
                if (reasons.Count > 0)
                {
                    dropped++;
                    droppedHere[response.Configuration] = reasons;
                    foreach (string reason in reasons)
                    {
                        droppedByReason[reason] = droppedByReason.GetValueOrDefault(reason) + 1;
                    }

                    continue;
                }

                kept.Add((response, _rubric.RankOf(response.Configuration), text.Length));
            }

            // Stable: configuration order breaks ties within a tier.
            var sorted = kept.Select((k, i) => (k, i)).OrderBy(x => x.k.Rank).ThenBy(x => x.i).Select(x => x.k).ToList();
            double threshold = LengthThreshold(sorted.ConvertAll(k => k.Length));
            var chosenRanks = new HashSet<int>();
            var chosenConfigurations = new HashSet<string>(StringComparer.Ordinal);
            int before = comparisons.Count;
            for (int i = 0; i < sorted.Count; i++)
            {
                var chosen = sorted[i];
                if (chosenRanks.Contains(chosen.Rank) || chosenConfigurations.Contains(chosen.Response.Configuration))
                {
                    continue;
                }

                List<string>? skipped = null;
                for (int j = i + 1; j < sorted.Count; j++)
                {
                    var rejected = sorted[j];
                    if (rejected.Rank == chosen.Rank)
                    {
                        continue;
                    }

                    if (_options.LengthGuard && chosen.Length < rejected.Length && chosen.Length < threshold)
                    {
                        guardSkips++;
                        (skipped ??= []).Add(rejected.Response.Configuration);
                        continue;
                    }

                    comparisons.Add(new SyntheticComparison
                    {
                        Id = $"{query.Query.Id}:{chosen.Response.Configuration}>{rejected.Response.Configuration}",
                        Prompt = query.Prompt,
                        Chosen = chosen.Response.Text,
                        Rejected = rejected.Response.Text,
                        QueryId = query.Query.Id,
                        Query = query.Query.Text,
                        ChosenConfiguration = chosen.Response.Configuration,
                        RejectedConfiguration = rejected.Response.Configuration,
                        ChosenRank = chosen.Rank,
                        RejectedRank = rejected.Rank,
                        GuardSkipped = skipped,
                        Dropped = droppedHere.Count > 0 ? droppedHere : null,
                    });
                    chosenRanks.Add(chosen.Rank);
                    chosenConfigurations.Add(chosen.Response.Configuration);
                    break;
                }
            }

            if (comparisons.Count == before)
            {
                withoutComparison++;
            }
        }

        return new PairingResult(
            comparisons,
            new PairingStatistics(responses.Count, responseCount, dropped, droppedByReason, withoutComparison, guardSkips, comparisons.Count));
    }

    /// <summary>
    /// Pairs each rubric chain on its own — over only the configurations it ranks — and concatenates the comparisons
    /// (a rubric of independent chains, e.g. a size chain and a demonstration-quality chain: <c>"a > b | c > d"</c>).
    /// Statistics add up across chains (queries are counted once; queries without a comparison once per chain).
    /// </summary>
    /// <param name="chains">Chains separated by <c>|</c>, each a <see cref="RankingRubric.Parse"/> specification.</param>
    /// <param name="filter">The response filter, or null.</param>
    /// <param name="options">Pairing options, or null for defaults.</param>
    /// <param name="responses">Every configuration's responses per query.</param>
    /// <returns>All comparisons and the summed statistics.</returns>
    /// <exception cref="RubricException">A chain is not a valid rubric.</exception>
    public static PairingResult BuildChains(string chains, IResponseFilter? filter, PairingOptions? options, IReadOnlyList<QueryResponses> responses)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chains);
        ArgumentNullException.ThrowIfNull(responses);
        var results = chains.Split('|').Select(RankingRubric.Parse).Select(rubric =>
                new ComparisonBuilder(rubric, filter, options)
                    .Build(responses.Select(q => q with { Responses = q.Responses.Where(r => rubric.Contains(r.Configuration)).ToList() }).ToList()))
            .ToList();
        var statistics = results.Select(r => r.Statistics).Aggregate((a, b) => new PairingStatistics(a.Queries, a.Responses + b.Responses,
            a.DroppedResponses + b.DroppedResponses,
            a.DroppedByReason.Concat(b.DroppedByReason).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value)),
            a.QueriesWithoutComparison + b.QueriesWithoutComparison, a.GuardSkips + b.GuardSkips, a.Comparisons + b.Comparisons));
        return new PairingResult(results.SelectMany(r => r.Comparisons).ToList(), statistics);
    }

    /// <summary>Writes comparisons as TRL preference JSONL with their metadata, atomically (a temporary file renamed into place).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="comparisons">The comparisons.</param>
    /// <param name="cancellationToken">Stops the write; the target is left untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteAsync(string path, IEnumerable<SyntheticComparison> comparisons, CancellationToken cancellationToken = default) =>
        JsonlWriter.WriteAllAsync(path, comparisons, cancellationToken: cancellationToken);

    /// <summary>Reads comparisons written by <see cref="WriteAsync"/>.</summary>
    /// <param name="path">The JSONL file.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The comparisons, in file order.</returns>
    /// <exception cref="JsonlFormatException">A malformed line (named by line and field).</exception>
    public static async Task<IReadOnlyList<SyntheticComparison>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var list = new List<SyntheticComparison>();
        await foreach (var c in JsonlReader.ReadAsync<SyntheticComparison>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(c);
        }

        return list;
    }

    // mean - std/2 of the kept responses' lengths (population std); no responses, no threshold.
    private static double LengthThreshold(List<int> lengths)
    {
        if (lengths.Count == 0)
        {
            return double.NegativeInfinity;
        }

        double mean = lengths.Average();
        double std = Math.Sqrt(lengths.Sum(l => (l - mean) * (l - mean)) / lengths.Count);
        return mean - (std / 2);
    }
}
