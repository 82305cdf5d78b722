using Almost.Synthetic.Prompts;

namespace Almost.Synthetic.Ranking;

/// <summary>
/// The rule of thumb that labels synthetic comparisons: a total order of prompt configurations, best first, where
/// configurations in one tier tie (and are never paired). Declare it (<see cref="Parse"/>: <c>"A > B = C > D"</c>, the
/// ALMoST reference's <c>--rubric</c>), build it from "better than" relations (<see cref="FromRelations"/>), or derive it
/// from the configurations' declared model size, shots and demonstration quality (<see cref="Derive"/>). A rubric that
/// does not give a total order is a <see cref="RubricException"/> naming the culprits: a cycle (<c>A > B > A</c>), two
/// configurations the rule cannot order, or an unknown configuration.
/// </summary>
public sealed class RankingRubric
{
    private readonly Dictionary<string, int> _ranks;

    private RankingRubric(IReadOnlyList<IReadOnlyList<string>> tiers)
    {
        Tiers = tiers;
        _ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int rank = 0; rank < tiers.Count; rank++)
        {
            foreach (string name in tiers[rank])
            {
                _ranks.Add(name, rank);
            }
        }
    }

    /// <summary>The tiers, best first; the configurations of one tier tie.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Tiers { get; }

    /// <summary>Every configuration the rubric ranks, best first.</summary>
    public IEnumerable<string> Configurations => Tiers.SelectMany(t => t);

    /// <summary>
    /// Parses a declared order: names separated by <c>&gt;</c> (better than) or <c>=</c> (tie), best first, e.g.
    /// <c>"base-careful-5 > tiny-careful-3 > tiny-0"</c>. Several chains may be given separated by commas
    /// (<c>"A > B, B > C"</c>); together they must order every name.
    /// </summary>
    /// <param name="specification">The order.</param>
    /// <returns>The rubric.</returns>
    /// <exception cref="RubricException">An empty name, a cycle, or two names no chain orders.</exception>
    public static RankingRubric Parse(string specification)
    {
        ArgumentNullException.ThrowIfNull(specification);
        var names = new List<string>();
        var better = new List<(string Better, string Worse)>();
        var ties = new List<(string, string)>();
        foreach (string chain in specification.Split(','))
        {
            string? previous = null;
            char relation = '>';
            int start = 0;
            for (int i = 0; i <= chain.Length; i++)
            {
                if (i < chain.Length && chain[i] is not ('>' or '='))
                {
                    continue;
                }

                string name = chain[start..i].Trim();
                if (name.Length == 0)
                {
                    throw new RubricException($"Rubric '{specification}': empty configuration name in '{chain.Trim()}' (expected 'A > B = C > D').");
                }

                if (!names.Contains(name))
                {
                    names.Add(name);
                }

                if (previous is not null)
                {
                    if (relation == '>')
                    {
                        better.Add((previous, name));
                    }
                    else
                    {
                        ties.Add((previous, name));
                    }
                }

                previous = name;
                relation = i < chain.Length ? chain[i] : '>';
                start = i + 1;
            }
        }

        return Build(names, better, ties);
    }

    /// <summary>A strict order: each configuration its own rank, best first.</summary>
    /// <param name="bestFirst">The names, best first.</param>
    /// <returns>The rubric.</returns>
    /// <exception cref="RubricException">A name appears twice (a cycle: it would be better and worse than the names between).</exception>
    public static RankingRubric FromOrder(IEnumerable<string> bestFirst)
    {
        ArgumentNullException.ThrowIfNull(bestFirst);
        var names = bestFirst.ToList();
        var relations = names.Zip(names.Skip(1), (a, b) => (a, b)).ToList();
        return Build(names.Distinct(StringComparer.Ordinal).ToList(), relations, []);
    }

    /// <summary>A total order from "better than" relations (transitive; they need not list every pair).</summary>
    /// <param name="configurations">Every configuration to rank.</param>
    /// <param name="relations">Pairs (better, worse).</param>
    /// <returns>The rubric.</returns>
    /// <exception cref="RubricException">A cycle, two configurations the relations do not order, or a relation naming an unknown configuration.</exception>
    public static RankingRubric FromRelations(IEnumerable<string> configurations, IEnumerable<(string Better, string Worse)> relations)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        ArgumentNullException.ThrowIfNull(relations);
        return Build(configurations.ToList(), relations.ToList(), []);
    }

    /// <summary>
    /// Derives the rubric from the rule of thumb: a larger model beats a smaller one, more shots beat fewer, better
    /// demonstrations beat worse ones. X ranks above Y when X is at least as good on every declared trait
    /// (<see cref="PromptConfiguration.ModelSize"/>, <see cref="PromptConfiguration.Shots"/>,
    /// <see cref="PromptConfiguration.DemonstrationQuality"/>) and better on one. Quality is not compared when either
    /// side has 0 shots (its prompt shows no demonstration). A trait no configuration declares is ignored.
    /// </summary>
    /// <param name="configurations">The configurations.</param>
    /// <returns>The rubric.</returns>
    /// <exception cref="RubricException">
    /// A trait declared by some configurations and not others, or two configurations the rule cannot order (one better on
    /// one trait and worse on another, or equal on all): the message names both.
    /// </exception>
    public static RankingRubric Derive(IEnumerable<PromptConfiguration> configurations)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        var list = configurations.ToList();
        bool useSize = CheckDeclared(list, c => c.ModelSize, "model size");
        bool useQuality = CheckDeclared(list, c => c.DemonstrationQuality, "demonstration quality");
        var relations = new List<(string, string)>();
        for (int i = 0; i < list.Count; i++)
        {
            for (int j = i + 1; j < list.Count; j++)
            {
                var (x, y) = (list[i], list[j]);
                var traits = new List<(string Trait, int Sign)> { ("shots", x.Shots.CompareTo(y.Shots)) };
                if (useSize)
                {
                    traits.Add(("model size", x.ModelSize!.Value.CompareTo(y.ModelSize!.Value)));
                }

                if (useQuality && x.Shots > 0 && y.Shots > 0)
                {
                    traits.Add(("demonstration quality", x.DemonstrationQuality!.Value.CompareTo(y.DemonstrationQuality!.Value)));
                }

                bool xBetter = traits.Exists(t => t.Sign > 0), yBetter = traits.Exists(t => t.Sign < 0);
                if (xBetter && yBetter)
                {
                    string forX = string.Join(", ", traits.Where(t => t.Sign > 0).Select(t => t.Trait));
                    string forY = string.Join(", ", traits.Where(t => t.Sign < 0).Select(t => t.Trait));
                    throw new RubricException(
                        $"The rule of thumb cannot order '{x.Name}' and '{y.Name}': '{x.Name}' is better on {forX}, '{y.Name}' on {forY}. Declare the order.");
                }

                if (!xBetter && !yBetter)
                {
                    throw new RubricException(
                        $"The rule of thumb cannot break the tie between '{x.Name}' and '{y.Name}': they are equal on every declared trait. Declare the order.");
                }

                relations.Add(xBetter ? (x.Name, y.Name) : (y.Name, x.Name));
            }
        }

        return Build(list.ConvertAll(c => c.Name), relations, []);
    }

    /// <summary>The rank of a configuration: 0 for the best tier, then 1, 2, ...</summary>
    /// <param name="configuration">The configuration's name.</param>
    /// <returns>Its rank.</returns>
    /// <exception cref="RubricException">The rubric does not rank it.</exception>
    public int RankOf(string configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return _ranks.TryGetValue(configuration, out int rank)
            ? rank
            : throw new RubricException($"Configuration '{configuration}' is not in the rubric '{this}'.");
    }

    /// <summary>Whether the rubric ranks a configuration.</summary>
    /// <param name="configuration">The configuration's name.</param>
    /// <returns>True when it has a rank.</returns>
    public bool Contains(string configuration) => _ranks.ContainsKey(configuration);

    /// <summary>Checks that every name is ranked.</summary>
    /// <param name="configurations">The names, e.g. the configurations of a run.</param>
    /// <exception cref="RubricException">Names the rubric does not know, listed.</exception>
    public void EnsureRanks(IEnumerable<string> configurations)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        var unknown = configurations.Where(c => !_ranks.ContainsKey(c)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new RubricException(
                $"The rubric '{this}' does not rank {string.Join(", ", unknown.Select(u => $"'{u}'"))}; it ranks {string.Join(", ", Configurations.Select(c => $"'{c}'"))}.");
        }
    }

    /// <summary>The rubric in <see cref="Parse"/>'s syntax, e.g. <c>"A > B = C > D"</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Join(" > ", Tiers.Select(t => string.Join(" = ", t)));

    private static bool CheckDeclared(List<PromptConfiguration> list, Func<PromptConfiguration, double?> trait, string what)
    {
        int declared = list.Count(c => trait(c) is not null);
        if (declared > 0 && declared < list.Count)
        {
            string missing = string.Join(", ", list.Where(c => trait(c) is null).Select(c => $"'{c.Name}'"));
            throw new RubricException($"Configurations {missing} declare no {what} while others do; declare it for all or none.");
        }

        return declared > 0;
    }

    private static RankingRubric Build(List<string> names, List<(string Better, string Worse)> better, List<(string, string)> ties)
    {
        if (names.Count == 0)
        {
            throw new RubricException("A rubric needs at least one configuration.");
        }

        var known = new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var (a, b) in better.Concat(ties))
        {
            foreach (string name in new[] { a, b })
            {
                if (name is null || !known.Contains(name))
                {
                    throw new RubricException($"A relation names configuration '{name}', which is not among {string.Join(", ", names.Select(n => $"'{n}'"))}.");
                }
            }
        }

        // Tied names form one group (union-find); the groups must be totally ordered by the relations.
        var group = names.ToDictionary(n => n, n => n, StringComparer.Ordinal);
        string Find(string n) => group[n] == n ? n : group[n] = Find(group[n]);
        foreach (var (a, b) in ties)
        {
            group[Find(a)] = Find(b);
        }

        var groups = names.Select(Find).Distinct(StringComparer.Ordinal).ToList();
        var members = groups.ToDictionary(g => g, g => names.Where(n => Find(n) == g).ToList(), StringComparer.Ordinal);
        var edges = groups.ToDictionary(g => g, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        var origin = new Dictionary<(string, string), (string, string)>();
        foreach (var (a, b) in better)
        {
            string from = Find(a), to = Find(b);
            if (from == to)
            {
                throw new RubricException($"The rubric has a cycle: '{a}' > '{b}', but '{a}' and '{b}' are declared equal.");
            }

            edges[from].Add(to);
            origin.TryAdd((from, to), (a, b));
        }

        // Kahn's algorithm; a total order needs exactly one source at every step.
        var indegree = groups.ToDictionary(g => g, _ => 0, StringComparer.Ordinal);
        foreach (var targets in edges.Values)
        {
            foreach (string t in targets)
            {
                indegree[t]++;
            }
        }

        var tiers = new List<IReadOnlyList<string>>();
        var remaining = new HashSet<string>(groups, StringComparer.Ordinal);
        while (remaining.Count > 0)
        {
            var sources = groups.Where(g => remaining.Contains(g) && indegree[g] == 0).ToList();
            if (sources.Count == 0)
            {
                throw new RubricException($"The rubric has a cycle: {DescribeCycle(remaining, edges, origin)}.");
            }

            if (sources.Count > 1)
            {
                string a = members[sources[0]][0], b = members[sources[1]][0];
                throw new RubricException(
                    $"The rubric cannot order '{a}' and '{b}': no relation says which is better. Declare it ('{a} > {b}'), or tie them ('{a} = {b}').");
            }

            string source = sources[0];
            tiers.Add(members[source]);
            remaining.Remove(source);
            foreach (string t in edges[source])
            {
                indegree[t]--;
            }
        }

        return new RankingRubric(tiers);
    }

    private static string DescribeCycle(HashSet<string> remaining, Dictionary<string, HashSet<string>> edges, Dictionary<(string, string), (string, string)> origin)
    {
        // After Kahn's algorithm stalls, every remaining group has a remaining predecessor: walking predecessors must
        // revisit a group, and the walk between the two visits, reversed, is a cycle.
        string current = remaining.OrderBy(g => g, StringComparer.Ordinal).First();
        var walk = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        while (!seen.ContainsKey(current))
        {
            seen[current] = walk.Count;
            walk.Add(current);
            current = edges.Where(e => remaining.Contains(e.Key) && e.Value.Contains(current))
                .Select(e => e.Key).OrderBy(g => g, StringComparer.Ordinal).First();
        }

        var cycle = walk.Skip(seen[current]).Reverse().ToList();
        int first = cycle.IndexOf(cycle.Min(StringComparer.Ordinal)!);
        cycle = [.. cycle.Skip(first), .. cycle.Take(first)];   // start at the first name, for a stable message
        cycle.Add(cycle[0]);
        var steps = cycle.Zip(cycle.Skip(1), (a, b) => origin[(a, b)]).ToList();
        return string.Join(", ", steps.Select(s => $"'{s.Item1}' > '{s.Item2}'"));
    }
}
