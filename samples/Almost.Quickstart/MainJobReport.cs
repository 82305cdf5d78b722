using System.Globalization;
using System.Text;
using System.Text.Json;
using Almost.Data;
using Almost.Evaluation;
using Almost.IO;
using Almost.Models.Llama;
using Almost.Scoring;
using Almost.Synthetic.Audit;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.SelfPlay;
using Almost.TinyWorld;
using Almost.TinyWorld.Pipeline;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.Quickstart;

/// <summary>The numbers of <c>report.json</c> (the main job's result) and how they are measured.</summary>
internal sealed record MainJobNumbers
{
    public required Dictionary<string, SystemScore> Systems { get; init; }
    public required string VanillaBestConfiguration { get; init; }
    public required Dictionary<string, WinRateNumbers> WinRates { get; init; }
    public required Dictionary<string, AgreementNumbers> SyntheticLabelAgreement { get; init; }
    public required double RmOracleAccuracy { get; init; }
    public required int RmOraclePairs { get; init; }
    public required Dictionary<string, TaxNumbers> AlignmentTax { get; init; }
    public required QueryCounts Queries { get; init; }
    public required Dictionary<string, int> Comparisons { get; init; }
    public required IReadOnlyList<PpoTracePoint> PpoTrace { get; init; }
    public required Dictionary<string, DifferenceNumbers> PairedDifferences { get; init; }
    public required Dictionary<string, SelectionNumbers> SelfPlaySelection { get; init; }
    public required double SelfPlayConsensusWeight { get; init; }
    public required int SelfPlayCandidates { get; init; }
    public required double SftReplayRatio { get; init; }
    public required int SftLoraRank { get; init; }
    public required double SftLearningRate { get; init; }
}

internal sealed record SystemScore(double Mean, double Lower, double Upper, int Tasks);

internal sealed record WinRateNumbers(int Wins, int Losses, int Ties, double WinRate, double Lower, double Upper);

internal sealed record AgreementNumbers(int Comparisons, int Decisive, double? Agreement, double Lower, double Upper, double TieShare);

internal sealed record TaxNumbers(double HeldOutLoss, double AtlasCorrectness);

/// <summary>Mean per-task oracle-score difference of system A minus system B on the same tasks, with its 95 % interval.</summary>
internal sealed record DifferenceNumbers(double Mean, double Lower, double Upper, int Tasks);

/// <summary>
/// What the best-of-N selection gained in self-play, by the oracle, on the turns whose query the oracle can grade: the
/// mean of all candidates (a random pick), the kept candidate, what the reward model alone would have picked (its
/// argmax), what the candidates' consensus alone would have picked, the oracle's own pick (the ceiling), and the RM's
/// accuracy on candidate pairs of the same turn that the oracle separates.
/// </summary>
internal sealed record SelectionNumbers(
    int Turns, double Random, double Kept, double RmPick, double ConsensusPick, double OraclePick, double PairAccuracy, int Pairs);

/// <summary>Builds and writes the main job's report: the oracle's view of every system, win rates, label agreement, RM accuracy, alignment tax.</summary>
internal static class MainJobReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<MainJobNumbers> BuildAsync(TinyWorldPipeline pipeline, PolicyEvaluation audit, PipelineOptions options,
        IReadOnlyDictionary<string, string> policies, IReadOnlyDictionary<string, IReadOnlyList<SyntheticComparison>> comparisons,
        QueryCounts queries, StageRunner stages, CancellationToken ct)
    {
        var evaluations = new Dictionary<string, SystemEvaluation>();
        var tax = new Dictionary<string, TaxNumbers>();

        // The vanilla baselines: the policy's zoo model prompted with careful demonstrations (the best of 3 and 5 shots by
        // the oracle, a conservative baseline) and with none (the starting point of alignment, for the tax).
        var (vanilla, tokenizer) = pipeline.Vanilla(options.PolicyModel);
        foreach (var shots in new[] { 5, 3 })
        {
            var configuration = await pipeline.ConfigurationAsync($"{options.PolicyModel}-careful-{shots}");
            var preamble = configuration.BuildPrompt("")[..^AlmostTranscript.FormatPrompt("").Length];
            evaluations[$"{options.PolicyModel}-careful-{shots}"] = await audit.EvaluateAsync($"{options.PolicyModel}-careful-{shots}",
                pipeline.FrozenGenerator(options.PolicyModel), preamble, options.Seed, ct);
        }

        var best = evaluations.MaxBy(e => e.Value.Mean).Key;
        evaluations["vanilla_best"] = evaluations[best] with { Name = "vanilla_best" };
        evaluations["vanilla_0shot"] = await audit.EvaluateAsync("vanilla_0shot", pipeline.FrozenGenerator(options.PolicyModel), "", options.Seed, ct);
        tax["vanilla"] = new TaxNumbers(PolicyEvaluation.HeldOutLoss(vanilla, tokenizer, pipeline.World.ZooFolder), evaluations["vanilla_0shot"].AtlasCorrectness);

        foreach (var (name, folder) in policies)
        {
            using var policy = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
            var policyTokenizer = AlmostTokenizer.FromFolder(folder);
            evaluations[name] = await audit.EvaluateAsync(name, TinyWorldPipeline.Generator(policy, policyTokenizer), "", options.Seed, ct);
            tax[name] = new TaxNumbers(PolicyEvaluation.HeldOutLoss(policy, policyTokenizer, pipeline.World.ZooFolder), evaluations[name].AtlasCorrectness);
        }

        var wins = new Dictionary<string, WinRateNumbers>();
        var differences = new Dictionary<string, DifferenceNumbers>();
        foreach (var (a, b) in new[] { ("almost_sft", "vanilla_best"), ("almost_sft", "plain_selfplay_sft"), ("almost_sft", "no_filter_sft"),
                     ("almost_ppo", "almost_sft"), ("almost_ppo_group", "almost_sft"), ("almost_dpo", "almost_sft"), ("almost_dpo_smoothed", "almost_sft"),
                     ("almost_dpo_smoothed", "almost_dpo"), ("almost_ppo", "almost_dpo"), ("almost_ppo", "vanilla_best"), ("plain_selfplay_sft", "vanilla_best") })
        {
            var rate = await audit.WinRateAsync(evaluations[a], evaluations[b], ct);
            var w = rate.WithTiesAsHalf;
            wins[$"{a}_over_{b}"] = new WinRateNumbers(rate.Wins, rate.Losses, rate.Ties, w.Estimate, w.Lower, w.Upper);
            var d = MeanInterval.PairedDifference(evaluations[a].Scores, evaluations[b].Scores);
            differences[$"{a}_minus_{b}"] = new DifferenceNumbers(d.Mean, d.Lower, d.Upper, d.Count);
        }

        // Self-play selection by the oracle: the mechanism ALMoST-SFT relies on, measured on the dialogues themselves.
        var selection = new Dictionary<string, SelectionNumbers>();
        foreach (var name in new[] { "almost", "no_filter" })
        {
            var records = (await JsonlReader.ReadAllAsync<SelfPlayRecord>(pipeline.PathOf($"selfplay_{name}.jsonl"), cancellationToken: ct)).Records;
            if (SelectionOf(audit, records) is { } numbers)
            {
                selection[name] = numbers;
            }
        }

        // Label agreement with the oracle on its decisive pairs, per stage of the synthetic comparisons.
        var agreement = new Dictionary<string, AgreementNumbers>();
        var feedbackAudit = new FeedbackAudit(audit.Judge);
        foreach (var (stage, list) in comparisons)
        {
            var r = (await feedbackAudit.RunAsync(stage, list, pipeline.PathOf($"audit_{stage}.jsonl"), cancellationToken: ct)).Overall;
            agreement[stage] = new AgreementNumbers(r.Comparisons, r.Decisive, r.Agreement, r.AgreementLower, r.AgreementUpper, r.TieShare);
        }

        // RM accuracy on oracle-ordered pairs of eval-task responses (pairs of systems whose replies the oracle separates).
        var rm = await pipeline.TrainRewardModelAsync([], "almost", cancellationToken: ct);
        var systems = evaluations.Keys.Where(k => k != "vanilla_best").ToList();
        int correct = 0, pairs = 0;
        var inputs = new List<RewardModelInput>();
        var expected = new List<(int A, int B)>();

        // Each distinct reply to a task is scored once, however many pairs it is in (45 system pairs per task).
        var inputOf = new Dictionary<(int Task, string Reply), int>();
        int Input(int task, SystemEvaluation system)
        {
            if (!inputOf.TryGetValue((task, system.Responses[task]), out var index))
            {
                index = inputs.Count;
                inputOf[(task, system.Responses[task])] = index;
                inputs.Add(new RewardModelInput(system.Prompts[task], " " + system.Responses[task]));
            }

            return index;
        }

        for (int t = 0; t < audit.Tasks.Count; t++)
        {
            for (int i = 0; i < systems.Count; i++)
            {
                for (int j = i + 1; j < systems.Count; j++)
                {
                    var (x, y) = (evaluations[systems[i]], evaluations[systems[j]]);
                    if (Math.Abs(x.Scores[t] - y.Scores[t]) < 0.02 || x.Responses[t] == y.Responses[t])
                    {
                        continue;
                    }

                    var (better, worse) = x.Scores[t] > y.Scores[t] ? (x, y) : (y, x);
                    expected.Add((Input(t, better), Input(t, worse)));
                }
            }
        }

        var rmScores = inputs.Count == 0 ? [] : await rm.ScoreAsync(inputs, ct);
        foreach (var (a, b) in expected)
        {
            pairs++;
            correct += rmScores[a] > rmScores[b] ? 1 : 0;
        }

        return new MainJobNumbers
        {
            Systems = evaluations.ToDictionary(e => e.Key, e => new SystemScore(e.Value.Mean, e.Value.Interval95.Lower, e.Value.Interval95.Upper, e.Value.Scores.Count)),
            VanillaBestConfiguration = best,
            WinRates = wins,
            SyntheticLabelAgreement = agreement,
            RmOracleAccuracy = pairs == 0 ? double.NaN : correct / (double)pairs,
            RmOraclePairs = pairs,
            AlignmentTax = tax,
            Queries = queries,
            Comparisons = comparisons.ToDictionary(c => c.Key, c => c.Value.Count),
            PpoTrace = PpoTracePoint.Load(pipeline.PathOf("policies", "almost_ppo", "oracle_trace.jsonl")),
            PairedDifferences = differences,
            SelfPlaySelection = selection,
            SelfPlayConsensusWeight = options.SelfPlayConsensusWeight,
            SelfPlayCandidates = options.Candidates,
            SftReplayRatio = options.SftReplayRatio,
            SftLoraRank = options.SftLora?.Rank ?? 0,
            SftLearningRate = options.SftPeakLearningRate,
        };
    }

    private static SelectionNumbers? SelectionOf(PolicyEvaluation audit, IReadOnlyList<SelfPlayRecord> records)
    {
        double random = 0, kept = 0, rmPick = 0, consensusPick = 0, best = 0;
        int turns = 0, pairs = 0, right = 0;
        foreach (var record in records)
        {
            for (int t = 0; t < record.Turns.Count; t++)
            {
                var turn = record.Turns[t];
                if (turn.Candidates is not { Count: > 1 } candidates)
                {
                    continue;
                }

                var prompt = AlmostTranscript.Format(record.Messages.Take((2 * t) + 1).ToList(), addGenerationPrompt: true);
                var scores = candidates.Select(c => audit.Score(prompt, c)).ToArray();
                if (scores.Any(s => s is null))
                {
                    continue; // the oracle cannot grade this query
                }

                var oracle = scores.Select(s => s!.Value).ToArray();
                turns++;
                random += oracle.Average();
                kept += oracle[turn.ChosenIndex];
                rmPick += oracle[ArgMax(turn.CandidateScores)];
                consensusPick += oracle[ArgMax(turn.Consensus ?? CandidateConsensus.Of(candidates))];   // recorded when the selection weighed it
                best += oracle.Max();
                for (int i = 0; i < oracle.Length; i++)
                {
                    for (int j = i + 1; j < oracle.Length; j++)
                    {
                        if (Math.Abs(oracle[i] - oracle[j]) >= 0.02 && turn.CandidateScores[i] != turn.CandidateScores[j])
                        {
                            pairs++;
                            right += (oracle[i] > oracle[j]) == (turn.CandidateScores[i] > turn.CandidateScores[j]) ? 1 : 0;
                        }
                    }
                }
            }
        }

        return turns == 0
            ? null
            : new SelectionNumbers(turns, random / turns, kept / turns, rmPick / turns, consensusPick / turns, best / turns,
                pairs == 0 ? double.NaN : right / (double)pairs, pairs);
    }

    /// <summary>Index of the first maximum (the selection's own tie rule).</summary>
    private static int ArgMax(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    public static void Write(string output, MainJobNumbers n, StageRunner stages, Action<string>? log = null)
    {
        AtomicFile.WriteAllText(Path.Combine(output, "report.json"), JsonSerializer.Serialize(new
        {
            vanilla_best = n.Systems["vanilla_best"].Mean,
            almost_sft = n.Systems["almost_sft"].Mean,
            plain_selfplay_sft = n.Systems["plain_selfplay_sft"].Mean,
            no_filter_sft = n.Systems["no_filter_sft"].Mean,
            almost_ppo = n.Systems["almost_ppo"].Mean,
            almost_ppo_group = n.Systems["almost_ppo_group"].Mean,
            almost_dpo = n.Systems["almost_dpo"].Mean,
            almost_dpo_smoothed = n.Systems["almost_dpo_smoothed"].Mean,
            synthetic_label_agreement = n.SyntheticLabelAgreement["validated"].Agreement,
            rm_oracle_accuracy = n.RmOracleAccuracy,
            win_rates = n.WinRates,
            paired_differences = n.PairedDifferences,
            self_play_selection = n.SelfPlaySelection,
            alignment_tax = n.AlignmentTax,
            details = n,
            stage_seconds = stages.Seconds,
        }, Json));

        var md = new StringBuilder();
        string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
        string S(double v) => v.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
        md.AppendLine("# ALMoST on TinyWorld: the main job's report").AppendLine();
        md.AppendLine($"Mean oracle score on {n.Systems["vanilla_best"].Tasks} eval-split tasks (95 % interval of the mean); vanilla_best = `{n.VanillaBestConfiguration}`.").AppendLine();
        md.AppendLine(n.SftReplayRatio > 0
            ? $"SFT replayed pretraining-sample tokens {n.SftReplayRatio.ToString(CultureInfo.InvariantCulture)} × the dialogues' trained tokens (every SFT policy alike); held-out loss and atlas correctness measure the alignment tax.\n"
            : "SFT without pretraining replay (the paper's SFT); held-out loss and atlas correctness measure the alignment tax.\n");
        md.AppendLine(n.SftLoraRank > 0
            ? $"Every SFT policy trained a LoRA adapter of rank {n.SftLoraRank} on all linear projections (merged into the policy), peak learning rate {n.SftLearningRate.ToString(CultureInfo.InvariantCulture)}.\n"
            : $"Every SFT policy fine-tuned all weights (no LoRA), peak learning rate {n.SftLearningRate.ToString(CultureInfo.InvariantCulture)}.\n");
        md.AppendLine("| system | oracle score | 95 % CI | held-out loss | atlas correctness |").AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var (name, s) in n.Systems.OrderByDescending(s => s.Value.Mean))
        {
            var t = n.AlignmentTax.TryGetValue(name, out var tax) ? tax : null;
            md.AppendLine($"| {name} | {F(s.Mean)} | {F(s.Lower)}–{F(s.Upper)} | {(t is null ? "" : F(t.HeldOutLoss))} | {(t is null ? "" : F(t.AtlasCorrectness))} |");
        }

        md.AppendLine().AppendLine("| win rate (ties ½, oracle judge) | wins / losses / ties | rate | 95 % CI |").AppendLine("| --- | --- | --- | --- |");
        foreach (var (name, w) in n.WinRates)
        {
            md.AppendLine($"| {name.Replace("_over_", " over ", StringComparison.Ordinal)} | {w.Wins} / {w.Losses} / {w.Ties} | {F(w.WinRate)} | {F(w.Lower)}–{F(w.Upper)} |");
        }

        md.AppendLine().AppendLine("Paired differences (same tasks; the task-difficulty variance cancels, so these separate systems whose own intervals overlap):").AppendLine();
        md.AppendLine("| difference of mean oracle score | mean | 95 % CI | tasks |").AppendLine("| --- | --- | --- | --- |");
        foreach (var (name, d) in n.PairedDifferences)
        {
            md.AppendLine($"| {name.Replace("_minus_", " − ", StringComparison.Ordinal)} | {S(d.Mean)} | {S(d.Lower)} to {S(d.Upper)} | {d.Tasks} |");
        }

        if (n.SelfPlaySelection.Count > 0)
        {
            md.AppendLine().AppendLine($"Self-play selection, by the oracle on the gradable turns (N = {n.SelfPlayCandidates} candidates per turn; random = mean of the N candidates, kept = the selection's pick with consensus weight {n.SelfPlayConsensusWeight.ToString(CultureInfo.InvariantCulture)}, RM pick = the reward model's argmax alone, consensus pick = the candidates' agreement alone, oracle pick = the ceiling):").AppendLine();
            md.AppendLine("| self-play | turns | random | kept | RM pick | consensus pick | oracle pick | RM accuracy on separable candidate pairs |").AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var (name, sel) in n.SelfPlaySelection)
            {
                md.AppendLine($"| {name} | {sel.Turns} | {F(sel.Random)} | {F(sel.Kept)} | {F(sel.RmPick)} | {F(sel.ConsensusPick)} | {F(sel.OraclePick)} | {F(sel.PairAccuracy)} ({sel.Pairs} pairs) |");
            }
        }

        md.AppendLine().AppendLine("| synthetic labels | comparisons | oracle-decisive | agreement | 95 % CI | ties |").AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (stage, a) in n.SyntheticLabelAgreement)
        {
            md.AppendLine($"| {stage} | {a.Comparisons} | {a.Decisive} | {(a.Agreement is { } v ? F(v) : "—")} | {F(a.Lower)}–{F(a.Upper)} | {F(a.TieShare)} |");
        }

        md.AppendLine().AppendLine($"Reward model accuracy on {n.RmOraclePairs} oracle-ordered pairs of eval-task responses: {F(n.RmOracleAccuracy)}.");
        md.AppendLine($"Queries: {n.Queries.Generated} generated, {n.Queries.Accepted} accepted, {n.Queries.Decontaminated} decontaminated.");
        if (n.PpoTrace.Count > 1)
        {
            md.AppendLine().AppendLine("PPO (GAE) rollouts: step, reward-model score, oracle score, response length:").AppendLine();
            md.AppendLine("| step | RM | oracle | length |").AppendLine("| --- | --- | --- | --- |");
            foreach (var p in n.PpoTrace)
            {
                md.AppendLine($"| {p.Step} | {F(p.RewardModel)} | {F(p.Oracle)} | {p.ResponseLength:F0} |");
            }

            var first = n.PpoTrace.Take(Math.Max(1, n.PpoTrace.Count / 4)).ToList();
            var last = n.PpoTrace.Skip(n.PpoTrace.Count - first.Count).ToList();
            bool hacking = last.Average(p => p.RewardModel) > first.Average(p => p.RewardModel) && last.Average(p => p.Oracle) < first.Average(p => p.Oracle);
            md.AppendLine().AppendLine(hacking
                ? "Reward hacking: the RM score rose while the oracle score fell over PPO (first vs last quarter of the steps)."
                : "No reward hacking seen: the oracle score did not fall while the RM score rose (first vs last quarter of the steps).");
        }

        md.AppendLine().AppendLine("Stage wall times (s): " + string.Join(", ", stages.Seconds.Select(s => $"{s.Key} {s.Value:F0}")) + ".");
        AtomicFile.WriteAllText(Path.Combine(output, "report.md"), md.ToString());
        ReportPlots.AddToReport(output, n, log);
    }
}
