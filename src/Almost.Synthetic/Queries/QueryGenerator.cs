using Almost.Data;
using Almost.Devices;
using Almost.Generation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Synthetic.Queries;

/// <summary>
/// Self-Instruct-style query generation, the first step of ALMoST: each round prompts a vanilla model with
/// <see cref="QueryGenerationOptions.ExamplesPerPrompt"/> queries sampled from the seeds plus the queries accepted so
/// far, samples a new query per prompt, and accepts it unless it is too short or too long, too similar to a seed or an
/// accepted query (ROUGE-L F1 ≥ <see cref="QueryGenerationOptions.MaxRougeL"/>), or overlaps the evaluation set
/// (<see cref="NgramDecontaminator"/>). Every candidate is appended to a JSONL file as a <see cref="QueryCandidateRecord"/>.
/// </summary>
/// <remarks>
/// <para><b>Determinism and resume.</b> Round <c>r</c> draws its examples and its sampling seed from
/// <see cref="Determinism.DeriveSeed"/>(seed, r) and depends only on the seeds and the queries accepted in earlier rounds,
/// so rerunning after a crash or cancellation rebuilds the pool from the file, regenerates a round that was cut short
/// (same prompts, same seed) and appends only its missing records: the file ends exactly as an uninterrupted run's would.</para>
/// <para><b>Cancellation.</b> Checked before each round and passed to the generator; a round's records are appended whole.</para>
/// </remarks>
public sealed class QueryGenerator
{
    private readonly ITextGenerator _generator;
    private readonly QueryGenerationOptions _options;
    private readonly NgramDecontaminator? _decontaminator;
    private readonly ILogger<QueryGenerator> _logger;

    /// <summary>Creates the generator.</summary>
    /// <param name="generator">The vanilla model that writes queries.</param>
    /// <param name="options">Settings; null for defaults.</param>
    /// <param name="decontaminator">The evaluation set to keep out; null for none.</param>
    /// <param name="logger">Receives per-round messages; null for none.</param>
    public QueryGenerator(
        ITextGenerator generator,
        QueryGenerationOptions? options = null,
        NgramDecontaminator? decontaminator = null,
        ILogger<QueryGenerator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        options ??= new QueryGenerationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TargetCount, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ExamplesPerPrompt, 0, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PromptsPerRound, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRounds, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Generation.SamplesPerPrompt, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.Format, nameof(options));
        _generator = generator;
        _options = options;
        _decontaminator = decontaminator;
        _logger = logger ?? NullLogger<QueryGenerator>.Instance;
    }

    private int CandidatesPerRound => _options.PromptsPerRound * _options.Generation.SamplesPerPrompt;

    /// <summary>Runs (or resumes) query generation.</summary>
    /// <param name="seeds">The seed queries (at least one).</param>
    /// <param name="outputPath">The JSONL of <see cref="QueryCandidateRecord"/>s; created when missing, resumed otherwise.</param>
    /// <param name="progress">Accepted queries against the target, after resuming and after each round; may be null.</param>
    /// <param name="cancellationToken">Stops the run between rounds (and inside the generator).</param>
    /// <returns>The counts and the accepted queries.</returns>
    /// <exception cref="JsonlFormatException">A corrupt line before the last, or records of another run (rounds out of order).</exception>
    public async Task<QueryGenerationSummary> RunAsync(
        IReadOnlyList<string> seeds,
        string outputPath,
        IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(outputPath);
        if (seeds.Count == 0)
        {
            throw new ArgumentException("Query generation needs at least one seed query.", nameof(seeds));
        }

        var existing = await ResumableJsonl.RepairAndReadAsync<QueryCandidateRecord>(outputPath, r => r.Id, _logger, cancellationToken)
            .ConfigureAwait(false);

        CheckRounds(existing, outputPath);
        var pool = new QueryPool(seeds);
        int lastRound = existing.Count == 0 ? -1 : existing[^1].Round;
        bool lastComplete = existing.Count == (lastRound + 1) * CandidatesPerRound;
        int firstRound = lastComplete ? lastRound + 1 : lastRound;
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in existing)
        {
            if (record.Round < firstRound && record.Accepted)
            {
                pool.Accept(record.Query);
            }

            done.Add(record.Id);
        }

        if (existing.Count > 0)
        {
            _logger.LogInformation("Resuming {OutputPath}: {Candidates} candidates, round {Round} next", outputPath, existing.Count, firstRound);
        }

        progress?.Report(new SyntheticProgress("queries", pool.AcceptedCount, _options.TargetCount));
        await using var writer = JsonlWriter.Open(outputPath);
        for (int round = firstRound; round < _options.MaxRounds && pool.AcceptedCount < _options.TargetCount; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var records = await RunRoundAsync(round, pool, cancellationToken).ConfigureAwait(false);
            await writer.WriteManyAsync(records.Where(r => !done.Contains(r.Id)), CancellationToken.None).ConfigureAwait(false);
            _logger.LogInformation(
                "Round {Round}: {Accepted} of {Candidates} accepted, {Total}/{Target} in the pool",
                round, records.Count(r => r.Accepted), records.Count, pool.AcceptedCount, _options.TargetCount);
            progress?.Report(new SyntheticProgress("queries", pool.AcceptedCount, _options.TargetCount, $"round {round}"));
        }

        return await SummarizeAsync(outputPath, existing.Count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The accepted queries of a <see cref="RunAsync"/> output, in acceptance order.</summary>
    /// <param name="outputPath">The JSONL of <see cref="QueryCandidateRecord"/>s.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The queries with their ids.</returns>
    public static async Task<IReadOnlyList<SyntheticQuery>> ReadAcceptedAsync(string outputPath, CancellationToken cancellationToken = default)
    {
        var summary = await SummarizeAsync(outputPath, 0, cancellationToken).ConfigureAwait(false);
        return summary.Queries;
    }

    private async Task<List<QueryCandidateRecord>> RunRoundAsync(int round, QueryPool pool, CancellationToken cancellationToken)
    {
        long seed = _options.Generation.Seed;
        var random = Determinism.CreateRandom(seed, $"query-examples-{round}");
        var prompts = new List<string>(_options.PromptsPerRound);
        for (int p = 0; p < _options.PromptsPerRound; p++)
        {
            prompts.Add(_options.Format.Build(pool.Sample(random, _options.ExamplesPerPrompt)));
        }

        var generation = _options.Generation with
        {
            Seed = Determinism.DeriveSeed(seed, $"query-sampling-{round}"),
            StopStrings = [.. _options.Generation.StopStrings.Concat(_options.Format.StopStrings).Distinct()],
        };
        var results = await _generator.GenerateAsync(prompts, generation, progress: null, cancellationToken).ConfigureAwait(false);
        if (results.Count != prompts.Count)
        {
            throw new InvalidOperationException($"{_generator.GetType().Name} returned {results.Count} result lists for {prompts.Count} prompts.");
        }

        var records = new List<QueryCandidateRecord>(CandidatesPerRound);
        for (int p = 0; p < prompts.Count; p++)
        {
            for (int s = 0; s < generation.SamplesPerPrompt; s++)
            {
                string text = s < results[p].Count ? _options.Format.Extract(results[p][s].Text) : "";
                records.Add(Decide($"{round}-{(p * generation.SamplesPerPrompt) + s}", round, text, pool));
            }
        }

        return records;
    }

    private QueryCandidateRecord Decide(string id, int round, string query, QueryPool pool)
    {
        var record = new QueryCandidateRecord { Id = id, Round = round, Query = query, Accepted = false };
        string[] tokens = RougeL.Tokenize(query);
        if (tokens.Length == 0)
        {
            return record with { Reason = QueryRejection.Empty };
        }

        int words = query.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words < _options.MinWords)
        {
            return record with { Reason = QueryRejection.TooShort };
        }

        if (words > _options.MaxWords)
        {
            return record with { Reason = QueryRejection.TooLong };
        }

        var (similar, rouge) = pool.MostSimilar(tokens);
        record = record with { MostSimilar = similar, RougeL = similar is null ? null : Math.Round(rouge, 4) };
        if (rouge >= _options.MaxRougeL)
        {
            return record with { Reason = QueryRejection.Similar };
        }

        if (_decontaminator?.FindOverlap(query) is { } overlap)
        {
            return record with { Reason = QueryRejection.Contaminated, ContaminatedBy = overlap };
        }

        if (_options.ParaphraseCheck?.Invoke(query) is { } paraphrased)
        {
            return record with { Reason = QueryRejection.Paraphrase, ContaminatedBy = paraphrased };
        }

        pool.Accept(query, tokens);
        return record with { Accepted = true };
    }

    private void CheckRounds(List<QueryCandidateRecord> records, string path)
    {
        // Records come a whole round at a time, rounds in order: anything else is another run's file.
        for (int i = 0; i < records.Count; i++)
        {
            int expected = i / CandidatesPerRound;
            if (records[i].Round != expected)
            {
                throw new JsonlFormatException(path, i + 1,
                    $"record {records[i].Id} is from round {records[i].Round}, expected round {expected} " +
                    $"({CandidatesPerRound} candidates per round): the file was written with other settings");
            }
        }
    }

    private static async Task<QueryGenerationSummary> SummarizeAsync(string path, int resumed, CancellationToken cancellationToken)
    {
        int candidates = 0, rounds = 0;
        var rejected = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var queries = new List<SyntheticQuery>();
        if (File.Exists(path))
        {
            await foreach (var record in JsonlReader.ReadAsync<QueryCandidateRecord>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                candidates++;
                rounds = Math.Max(rounds, record.Round + 1);
                if (record.Accepted)
                {
                    queries.Add(new SyntheticQuery(record.Id, record.Query));
                }
                else
                {
                    string reason = record.Reason ?? "unknown";
                    rejected[reason] = rejected.GetValueOrDefault(reason) + 1;
                }
            }
        }

        return new QueryGenerationSummary(rounds, candidates, queries.Count, rejected, resumed, queries);
    }

    /// <summary>The seeds plus the accepted queries, with their tokens for ROUGE-L.</summary>
    private sealed class QueryPool
    {
        private readonly List<string> _texts = [];
        private readonly List<string[]> _tokens = [];

        public QueryPool(IReadOnlyList<string> seeds)
        {
            foreach (string seed in seeds)
            {
                ArgumentNullException.ThrowIfNull(seed, nameof(seeds));
                _texts.Add(seed);
                _tokens.Add(RougeL.Tokenize(seed));
            }
        }

        public int AcceptedCount { get; private set; }

        public void Accept(string query) => Accept(query, RougeL.Tokenize(query));

        public void Accept(string query, string[] tokens)
        {
            _texts.Add(query);
            _tokens.Add(tokens);
            AcceptedCount++;
        }

        public List<string> Sample(Random random, int count)
        {
            var indices = Enumerable.Range(0, _texts.Count).ToArray();
            random.Shuffle(indices);
            return indices.Take(count).Select(i => _texts[i]).ToList();
        }

        public (string? Text, double F1) MostSimilar(string[] tokens)
        {
            string? best = null;
            double bestF1 = 0;
            for (int i = 0; i < _texts.Count; i++)
            {
                double f1 = RougeL.Score(tokens, _tokens[i]).F1;
                if (f1 > bestF1)
                {
                    (best, bestF1) = (_texts[i], f1);
                }
            }

            return (best, bestF1);
        }
    }
}
