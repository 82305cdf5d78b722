using System.Diagnostics;
using System.Globalization;
using Almost.Generation;
using Almost.IO;
using Almost.Models.Llama;
using Almost.Synthetic;
using Almost.Synthetic.Audit;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.Filters;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Queries;
using Almost.Synthetic.Ranking;
using Almost.Synthetic.Validation;
using Almost.TinyWorld.Pipeline;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.TinyWorld.Zoo;

/// <summary>
/// The <c>feedback</c> verb: ALMoST's synthetic feedback on TinyWorld with the zoo, every step streamed to JSONL under
/// <c>--out</c> (rerun the same command to resume), audited against the hidden oracle. See docs/synthetic-feedback.md.
/// </summary>
internal static class FeedbackCommand
{
    public const string Usage =
        "feedback [--zoo DIR] [--out DIR] [--seed S] [--queries N] [--query-model base] [--seed-tasks N] [--eval-tasks N] [--wordings on|off] [--content-check on|off] [--ngram 13]\n" +
        "         [--max-rouge 1.0] [--max-rounds N]\n" +
        "         [--configs a,b,...] [--rubric \"a > b > c | d > e\"] [--min-length N] [--rules question,well,period,dontknow,human|none] [--guard on|off]\n" +
        "         [--audit-split train|all] [--sweep] [--sweep-rubrics \"r1;r2\"] [--sweep-min-lengths 0,20,50]";

    /// <summary>The configurations the verb knows: model size, demonstration quality, shots.</summary>
    private static readonly (string Name, string Model, Persona Quality, int Shots)[] Known =
    [
        ("base-careful-5", "base", Persona.Careful, 5), ("base-careful-3", "base", Persona.Careful, 3),
        ("small-careful-3", "small", Persona.Careful, 3), ("tiny-careful-3", "tiny", Persona.Careful, 3),
        ("tiny-careful-1", "tiny", Persona.Careful, 1), ("base-sloppy-3", "base", Persona.Sloppy, 3), ("tiny-0", "tiny", Persona.Careful, 0),
    ];

    /// <summary>
    /// The post-validation trainer of one cross-fitting fold: the main job's reward model (<c>zoo/small</c> with a scalar
    /// head, Bradley–Terry, 4 epochs at 3e-4; <see cref="TinyWorldPipeline.TrainRewardModelAsync"/>) trained on the
    /// other folds' comparisons, saved under <c>{out}/rm/validation-fold{k}</c> (a rerun reuses it).
    /// </summary>
    private static FoldRewardModelTrainer CreatePostValidationTrainer(TinyWorldPipeline pipeline) =>
        async (training, fold, ct) => await pipeline.TrainRewardModelAsync(
            training.Select(TinyWorldPipeline.ToPreference).ToList(), $"validation-fold{fold}", cancellationToken: ct);

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        string Option(string name, string fallback)
        {
            int at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }

        void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
        string zoo = Option("--zoo", "samples/Almost.TinyWorld/zoo");
        string outFolder = Option("--out", Path.Combine(Path.GetTempPath(), "almost-feedback"));
        int seed = int.Parse(Option("--seed", "1"), CultureInfo.InvariantCulture);
        int targetQueries = int.Parse(Option("--queries", "300"), CultureInfo.InvariantCulture);
        string queryModel = Option("--query-model", "base");
        int seedTasks = int.Parse(Option("--seed-tasks", "30"), CultureInfo.InvariantCulture);
        int evalTasks = int.Parse(Option("--eval-tasks", "2000"), CultureInfo.InvariantCulture);
        bool wordings = Option("--wordings", "on") == "on";
        bool contentCheck = Option("--content-check", "on") == "on";
        int ngram = int.Parse(Option("--ngram", "13"), CultureInfo.InvariantCulture);
        double maxRouge = double.Parse(Option("--max-rouge", "1.0"), CultureInfo.InvariantCulture);
        int maxRounds = int.Parse(Option("--max-rounds", "200"), CultureInfo.InvariantCulture);
        var configNames = Option("--configs", string.Join(",", Known.Select(k => k.Name))).Split(',');
        // Chains separated by '|' are paired independently and their comparisons concatenated.
        string rubricText = Option("--rubric", "base-careful-5 > tiny-0 | base-careful-3 > base-sloppy-3");
        var filterOptions = FilterOptions(int.Parse(Option("--min-length", "20"), CultureInfo.InvariantCulture), Option("--rules", "none"));
        bool guard = Option("--guard", "off") == "on";
        bool trainOnly = Option("--audit-split", "all") == "train";
        Directory.CreateDirectory(outFolder);
        var steps = new Dictionary<string, object>();

        // 0. The zoo models a run needs, each behind a token-counting generator.
        var models = new Dictionary<string, (LlamaForCausalLM Model, CountingGenerator Generator)>();
        CountingGenerator GeneratorOf(string size)
        {
            if (!models.TryGetValue(size, out var entry))
            {
                string folder = Path.Combine(zoo, size);
                var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
                entry = (model, new CountingGenerator(new LocalGenerator(model, AlmostTokenizer.FromFolder(folder), new LocalGeneratorOptions { MaxBatchSize = 32 })));
                models[size] = entry;
            }
            return entry.Generator;
        }

        try
        {
            // 1. Queries: seeds are train-split task queries; the evaluation set (and, with --wordings, every template's
            //    wording of it) is what decontamination keeps out. The pipeline never reads an eval answer.
            var seeds = new TaskGenerator(seed).Generate(TaskSplit.Train, seedTasks).Select(t => t.Query).Distinct().ToList();
            var parser = new TaskQueryParser();
            var evalSet = new TaskGenerator(11).Generate(TaskSplit.Eval, evalTasks);
            var evalKeys = evalSet.Select(t => t.Key).ToHashSet();
            var evalQueryOfKey = evalSet.GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.First().Query);
            var decontaminator = new NgramDecontaminator(wordings ? evalSet.SelectMany(parser.Wordings).Distinct() : evalSet.Select(t => t.Query), ngram);
            var queryGenerator = GeneratorOf(queryModel);
            var watch = Stopwatch.StartNew();
            var querySummary = await new QueryGenerator(queryGenerator, new QueryGenerationOptions
            {
                TargetCount = targetQueries, PromptsPerRound = 32, MaxRounds = maxRounds, MaxRougeL = maxRouge, Format = QueryPromptFormat.Transcript,
                Generation = new QueryGenerationOptions().Generation with { Seed = seed, MaxNewTokens = 32 },
                // N-grams miss reordered operands ("add 13 and 10" vs "10 plus 13"): the testbed's stand-in for a
                // paraphrase detector matches task contents (query wording only; no answer is read).
                ParaphraseCheck = contentCheck ? q => parser.Parse(q) is { } t && evalQueryOfKey.TryGetValue(t.Key, out var e) ? e : null : null,
            }, decontaminator).RunAsync(seeds, Path.Combine(outFolder, "queries.jsonl"),
                new InlineProgress(p => Log($"queries: {p.Completed}/{p.Total} ({p.Detail})")), cancellationToken);
            var queries = querySummary.Queries;
            var tasks = queries.ToDictionary(q => q.Id, q => parser.Parse(q.Text));
            int gradable = tasks.Values.Count(t => t is not null);
            int leaked = tasks.Values.Count(t => t is not null && evalKeys.Contains(t.Key));
            int evalSplitOther = tasks.Values.Count(t => t is not null && t.Split == TaskSplit.Eval && !evalKeys.Contains(t.Key));
            // Which check would have caught the eval-set contents among the candidates that reached decontamination.
            //    Over the candidates that reached decontamination: per n-gram size, eval-set contents caught (of all) and
            //    clean candidates dropped (false positives), with the eval queries alone and with all their wordings.
            var candidates = (await Almost.Data.JsonlReader.ReadAllAsync<QueryCandidateRecord>(Path.Combine(outFolder, "queries.jsonl"), cancellationToken: cancellationToken))
                .Records.Where(r => r.Accepted || r.Reason is QueryRejection.Contaminated or QueryRejection.Paraphrase).ToList();
            var contaminated = candidates.Where(r => parser.Parse(r.Query) is { } t && evalKeys.Contains(t.Key)).ToHashSet();
            var decontaminationCheck = new[] { 8, 13, 50 }.SelectMany(n => new[] { false, true }.Select(all =>
            {
                var check = new NgramDecontaminator(all ? evalSet.SelectMany(parser.Wordings).Distinct() : evalSet.Select(t => t.Query), n);
                var flagged = candidates.Where(r => check.FindOverlap(r.Query) is not null).ToList();
                return new
                {
                    ngram = n, prompts = all ? "all wordings" : "eval queries", candidates = candidates.Count, eval_set_contents = contaminated.Count,
                    caught = flagged.Count(contaminated.Contains), false_positives = flagged.Count(r => !contaminated.Contains(r)),
                };
            })).ToList();
            steps["queries"] = Step(watch, queryGenerator.Tokens, queryGenerator.Elapsed, new
            {
                decontamination_check = decontaminationCheck,
                seeds = seeds.Count, candidates = querySummary.Candidates, accepted = querySummary.Accepted, rejected = querySummary.Rejected,
                decontaminated = querySummary.Decontaminated, gradable, eval_set_tasks = evalTasks, eval_set_prompts = decontaminator.PromptCount,
                eval_set_contents_leaked = leaked, other_eval_split_contents = evalSplitOther,
                by_family = tasks.Values.Where(t => t is not null).GroupBy(t => t!.Family.ToString()).ToDictionary(g => g.Key, g => g.Count()),
            });
            Log($"queries: {querySummary.Candidates} generated, {querySummary.Accepted} accepted, {querySummary.Decontaminated} decontaminated, " +
                $"{gradable} gradable, {leaked} eval-set contents leaked, {evalSplitOther} other eval-split contents");

            // 2. Responses: every configuration answers every query.
            var demonstrations = new[] { Persona.Careful, Persona.Sloppy }.ToDictionary(p => p, p =>
                new DemonstrationDialogues(p.ToString().ToLowerInvariant(), DemonstrationTranscripts.ToMessages(DemonstrationSet.Create(p, 5, seed: 5))));
            var manifest = ZooManifest.Load(zoo);
            var configurations = configNames.Select(name =>
            {
                var known = Known.Single(k => k.Name == name);
                return new PromptConfiguration
                {
                    Name = name, Generator = GeneratorOf(known.Model), Demonstrations = demonstrations[known.Quality], Shots = known.Shots,
                    Sampling = new GenerationOptions { Temperature = 0.7, MaxNewTokens = 48, Seed = seed },
                    ModelSize = manifest.Models.Single(m => m.Size.Name == known.Model).Parameters,
                    DemonstrationQuality = known.Quality == Persona.Careful ? 1 : 0,
                };
            }).ToList();
            long tokensBefore = models.Values.Sum(m => m.Generator.Tokens);
            var secondsBefore = models.Values.Aggregate(TimeSpan.Zero, (s, m) => s + m.Generator.Elapsed);
            watch.Restart();
            var responses = await new ResponseGenerationJob().RunAsync(queries, configurations, Path.Combine(outFolder, "responses"),
                new InlineProgress(p => { if (p.Completed % 320 == 0 || p.Completed == p.Total) { Log($"responses: {p.Completed}/{p.Total} ({p.Detail})"); } }),
                cancellationToken);
            steps["responses"] = Step(watch, models.Values.Sum(m => m.Generator.Tokens) - tokensBefore,
                models.Values.Aggregate(TimeSpan.Zero, (s, m) => s + m.Generator.Elapsed) - secondsBefore,
                new { configurations = configurations.Count, responses = responses.Sum(r => r.Responses.Count) });
            Log($"responses: {responses.Sum(r => r.Responses.Count)} in {watch.Elapsed.TotalSeconds:F0}s");

            // 3. Pairing (the rubric's configurations only) and the audit of the comparisons of gradable queries (with
            //    --audit-split train, of train-split tasks only).
            var audit = new FeedbackAudit(new OracleJudge(oracle: null, parser));
            bool Audited(SyntheticComparison c) => tasks[c.QueryId] is { } t && (!trainOnly || t.Split == TaskSplit.Train);
            async Task<object> PairAndAudit(string stage, string rubricChains, HeuristicFilterOptions? filter, bool lengthGuard, string folder)
            {
                var w = Stopwatch.StartNew();
                var result = ComparisonBuilder.BuildChains(rubricChains, filter is null ? null : new HeuristicResponseFilter(filter),
                    new PairingOptions { LengthGuard = lengthGuard }, responses);
                Directory.CreateDirectory(folder);
                await ComparisonBuilder.WriteAsync(Path.Combine(folder, $"{stage}.jsonl"), result.Comparisons, cancellationToken);
                double pairingSeconds = w.Elapsed.TotalSeconds;
                w.Restart();
                var audited = result.Comparisons.Where(Audited).ToList();
                var report = await audit.RunAsync(stage, audited, Path.Combine(folder, $"{stage}.audit.jsonl"), cancellationToken: cancellationToken);
                return new
                {
                    stage, rubric = string.Join("; ", rubricChains.Split('|').Select(r => RankingRubric.Parse(r).ToString())), filter, length_guard = lengthGuard, statistics = result.Statistics,
                    audited = audited.Count, overall = Summary(report.Overall),
                    by_pair = report.ByPair.Select(p => new { pair = $"{p.ChosenConfiguration} > {p.RejectedConfiguration}", stats = Summary(p.Statistics) }),
                    pairing_seconds = Math.Round(pairingSeconds, 3), audit_seconds = Math.Round(w.Elapsed.TotalSeconds, 3),
                    report,
                };
            }

            var raw = await PairAndAudit("raw", rubricText, null, lengthGuard: false, outFolder);
            var filtered = await PairAndAudit("filtered", rubricText, filterOptions, guard, outFolder);
            steps["raw"] = raw;
            steps["filtered"] = filtered;
            Print(raw);
            Print(filtered);

            // 4. Post-validation (cross-fitted): runs when the hook returns a reward-model trainer.
            if (Option("--post-validation", "on") != "on")
            {
                steps["validated"] = new { skipped = "--post-validation off" };
                Log("post-validation: skipped (--post-validation off)");
            }
            else
            {
                using var rmPipeline = new TinyWorldPipeline(new PipelineOptions { OutputDir = outFolder, ZooFolder = Path.GetFullPath(zoo), Seed = seed });
                var trainer = CreatePostValidationTrainer(rmPipeline);
                var comparisons = await ComparisonBuilder.ReadAsync(Path.Combine(outFolder, "filtered.jsonl"), cancellationToken);
                watch.Restart();
                var validation = await new CrossFittedValidator(trainer, new CrossFitOptions { Folds = 2, Seed = seed }).ValidateAsync(comparisons, Path.Combine(outFolder, "validation.jsonl"),
                    cancellationToken: cancellationToken);
                await ComparisonBuilder.WriteAsync(Path.Combine(outFolder, "validated.jsonl"), validation.Kept, cancellationToken);
                var report = await audit.RunAsync("validated", validation.Kept.Where(Audited).ToList(), Path.Combine(outFolder, "validated.audit.jsonl"),
                    cancellationToken: cancellationToken);
                steps["validated"] = new { kept = validation.Kept.Count, seconds = watch.Elapsed.TotalSeconds, overall = Summary(report.Overall), report };
            }

            // 5. Optional sweep over rubric × minimum length × guard (the other reference rules on), for choosing settings
            //    on train-split tasks (--audit-split train).
            if (args.Contains("--sweep"))
            {
                var rows = new List<object>();
                var rubrics = Option("--sweep-rubrics", rubricText).Split(';').ToList();
                var minLengths = Option("--sweep-min-lengths", "0,10,20,30,50").Split(',').Select(int.Parse).ToList();
                int n = 0;
                foreach (var rubric in rubrics)
                {
                    rows.Add(await PairAndAudit($"sweep{n++}", rubric, null, false, Path.Combine(outFolder, "sweep")));
                    foreach (int minLength in minLengths)
                    {
                        foreach (bool g in new[] { false, true })
                        {
                            rows.Add(await PairAndAudit($"sweep{n++}", rubric, FilterOptions(minLength, "all"), g, Path.Combine(outFolder, "sweep")));
                        }
                    }
                    rows.Add(await PairAndAudit($"sweep{n++}", rubric, FilterOptions(20, "none"), false, Path.Combine(outFolder, "sweep")));
                    rows.Add(await PairAndAudit($"sweep{n++}", rubric, null, true, Path.Combine(outFolder, "sweep")));
                }
                steps["sweep"] = rows;
                Console.WriteLine("| rubric | filter | guard | comparisons | audited | agreement (95% CI) | ties |");
                Console.WriteLine("|---|---|---|---|---|---|---|");
                foreach (dynamic row in rows)
                {
                    Console.WriteLine($"| {row.rubric} | {Describe(row.filter)} | {(row.length_guard ? "on" : "off")} | {row.statistics.Comparisons} | {row.audited} | {Format(row.report.Overall)} | {row.report.Overall.TieShare:P0} |");
                }
            }

            var summary = new
            {
                command = "dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- " + string.Join(' ', args),
                seed, audit_split = trainOnly ? "train" : "all", steps,
            };
            AtomicFile.WriteJson(Path.Combine(outFolder, "summary.json"), summary,
                new System.Text.Json.JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
            Log($"summary: {Path.Combine(outFolder, "summary.json")}");
            return 0;
        }
        finally
        {
            foreach (var (model, _) in models.Values)
            {
                model.Dispose();
            }
        }
    }

    private static HeuristicFilterOptions FilterOptions(int minLength, string rules)
    {
        var on = rules == "all" ? ["question", "well", "period", "dontknow", "human"] : rules == "none" ? [] : rules.Split(',').ToHashSet();
        return new HeuristicFilterOptions
        {
            MinLength = minLength, RejectEndsWithQuestionOrColon = on.Contains("question"), RejectStartsWithWell = on.Contains("well"),
            RequireFinalPeriodOrExclamation = on.Contains("period"), RejectDontKnow = on.Contains("dontknow"), RejectHumanTurn = on.Contains("human"),
        };
    }

    private static string Describe(HeuristicFilterOptions? f) => f is null
        ? "none"
        : $"min {f.MinLength}" + (f.RejectEndsWithQuestionOrColon && f.RejectStartsWithWell && f.RequireFinalPeriodOrExclamation && f.RejectDontKnow && f.RejectHumanTurn
            ? " + rules" : !f.RejectEndsWithQuestionOrColon && !f.RejectStartsWithWell && !f.RequireFinalPeriodOrExclamation && !f.RejectDontKnow && !f.RejectHumanTurn ? " only" : " + some rules");

    private static object Step(Stopwatch watch, long tokens, TimeSpan generating, object counts) => new
    {
        wall_seconds = Math.Round(watch.Elapsed.TotalSeconds, 1), generated_tokens = tokens,
        tokens_per_second = generating.TotalSeconds > 0 ? Math.Round(tokens / generating.TotalSeconds, 1) : 0, counts,
    };

    private static object Summary(AgreementStatistics s) => new
    {
        comparisons = s.Comparisons, decisive = s.Decisive, agree = s.Agree, ties = s.Ties, agreement = s.Agreement,
        lower = s.AgreementLower, upper = s.AgreementUpper, tie_share = s.TieShare,
    };

    private static string Format(AgreementStatistics s) => s.Agreement is { } a
        ? string.Create(CultureInfo.InvariantCulture, $"{a:P1} ({s.AgreementLower:P1}–{s.AgreementUpper:P1}), n={s.Decisive}")
        : "n/a";

    private static void Print(dynamic stage)
    {
        AuditReport report = stage.report;
        Console.WriteLine($"{report.Stage}: {stage.statistics.Comparisons} comparisons, {stage.audited} audited, agreement {Format(report.Overall)}, ties {report.Overall.TieShare:P0}");
        foreach (var pair in report.ByPair)
        {
            Console.WriteLine($"  {pair.ChosenConfiguration} > {pair.RejectedConfiguration}: {Format(pair.Statistics)}, ties {pair.Statistics.TieShare:P0}");
        }
    }

    private sealed class InlineProgress(Action<SyntheticProgress> report) : IProgress<SyntheticProgress>
    {
        public void Report(SyntheticProgress value) => report(value);
    }
}
