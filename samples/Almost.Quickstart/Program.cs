// The main job: the ALMoST pipeline on TinyWorld, end to end, then judged by the hidden oracle.
//   bash eng/run-main.sh [--output DIR] [--fast] [--seed N] [--threads N] [--generator local|llamacpp] [--consensus-weight W]
//   [--candidates N] [--replay-ratio R] [--lora-rank N] [--sft-lr X] [--queries N] [--dialogues N] [--eval-tasks N]
// Stages 1–9 use only the world files and the zoo (Almost.TinyWorld.Pipeline, which cannot see the oracle); the
// evaluation at the end uses the audit. Every stage writes its artifacts under --output (default out/main) and is
// skipped on a rerun once finished, so a crashed run resumes. See docs/pipeline.md.
using System.Diagnostics;
using System.Globalization;
using Almost.Devices;
using Almost.Quickstart;
using Almost.Scoring;
using Almost.TinyWorld;
using Almost.TinyWorld.Pipeline;
using TorchSharp;

string Option(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
var output = Path.GetFullPath(Option("--output", Path.Combine("out", "main")));
var options = (args.Contains("--fast") ? PipelineOptions.Fast(output) : PipelineOptions.Default(output)) with
{
    Seed = long.Parse(Option("--seed", "1"), CultureInfo.InvariantCulture),
    FrozenGenerator = Enum.Parse<FrozenGeneratorBackend>(Option("--generator", "local"), ignoreCase: true), // local or llamacpp
};
// Self-play samples N candidates per assistant turn (default 8; the paper's 4) and keeps argmax(reward + W × consensus);
// W = 0 is the paper's reward-model argmax. SFT replays pretraining-sample tokens R times its dialogues' trained
// tokens; 0 is the paper's SFT. SFT trains a LoRA adapter of rank N (alpha 2N) on every linear projection, merged at
// the end; --lora-rank 0 fine-tunes every weight, as the paper does. --sft-lr sets the peak rate (default 2e-3 with
// LoRA, 3e-4 without). (PipelineOptions has the defaults' measurements.)
int Count(string name, int fallback) => int.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture) is var n and > 0
    ? n : throw new ArgumentException($"{name}: expected a positive whole number.");
static Almost.Models.Lora.LoraOptions LoraOfRank(int rank) => new() { Rank = rank, Alpha = 2 * rank };
double Number(string name, double fallback) => double.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
options = options with
{
    SelfPlayConsensusWeight = Number("--consensus-weight", options.SelfPlayConsensusWeight),
    Candidates = Count("--candidates", options.Candidates),
    SftReplayRatio = Number("--replay-ratio", options.SftReplayRatio),
    SftLora = Option("--lora-rank", "") switch
    {
        "" => options.SftLora,
        "0" => null,
        _ => LoraOfRank(Count("--lora-rank", 8)),
    },
    SftLearningRate = Option("--sft-lr", "") == "" ? null
        : Number("--sft-lr", 0) is var lr and > 0 ? lr : throw new ArgumentException("--sft-lr: expected a positive number."),
    // The data budget: synthetic queries (stage 1), self-play dialogues per self-play run, evaluation tasks per system.
    Queries = Count("--queries", options.Queries),
    Dialogues = Count("--dialogues", options.Dialogues),
    EvalTasks = Count("--eval-tasks", options.EvalTasks),
};
if (options.EvalTasks > TinyWorldFiles.EvaluationTaskCount)
{
    // The world files' evaluation prompts (stage 1's decontamination set) cover only the first eval-split tasks.
    throw new ArgumentException($"--eval-tasks {options.EvalTasks}: at most {TinyWorldFiles.EvaluationTaskCount} (the tasks zoo/world/eval_prompts.txt decontaminates against).");
}

// A rerun resumes the run this folder holds: with other options it stops here (run_options.json records them).
RecordedRunOptions.CheckOrWrite(options);

TorchNative.EnsureLoaded();
torch.set_num_threads(int.Parse(Option("--threads", Math.Min(2, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture));
var clock = Stopwatch.StartNew();
// One progress bar per stage in a terminal; plain "[mm:ss] ..." lines when the output is redirected (StageProgress.cs).
await using var bars = StageProgress.ForConsole(() => clock.Elapsed);
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };
var ct = cancellation.Token;
using var pipeline = new TinyWorldPipeline(options);
var stages = new StageRunner(output, bars.Log);
bars.Log($"ALMoST on TinyWorld ({(args.Contains("--fast") ? "fast" : "default")} run, seed {options.Seed}) -> {output}");

// 1. Queries: Self-Instruct from the seed queries, decontaminated against the evaluation prompts.
var querySummary = await stages.RunAsync("1-queries", async () => Summaries.Of(await pipeline.GenerateQueriesAsync(bars.Bar("1-queries"), ct)));
var queries = await pipeline.QueriesAsync(ct);

// 2–4. Synthetic comparisons: configurations answer, the rubric ranks, the filter drops, cross-fitted RMs validate.
var responses = await pipeline.GenerateResponsesAsync(queries, bars.Bar("2-responses"), ct);
var raw = await stages.RunAsync("2-comparisons-raw", async () => (await pipeline.CompareAsync(responses, filtered: false, ct)).Comparisons.Count);
var filtered = await stages.RunAsync("3-comparisons-filtered", async () => (await pipeline.CompareAsync(responses, filtered: true, ct)).Comparisons.Count);
var validated = await stages.RunAsync("4-post-validation", async () =>
    (await pipeline.PostValidateAsync(await Almost.Synthetic.Comparisons.ComparisonBuilder.ReadAsync(pipeline.PathOf("comparisons_filtered.jsonl"), ct),
        bars.Bar("4-post-validation"), ct)).Kept.Count);
var comparisons = new Dictionary<string, IReadOnlyList<Almost.Synthetic.Comparisons.SyntheticComparison>>();
foreach (var name in new[] { "raw", "filtered", "validated" })
{
    comparisons[name] = await Almost.Synthetic.Comparisons.ComparisonBuilder.ReadAsync(pipeline.PathOf($"comparisons_{name}.jsonl"), ct);
}

// 5. Reward models: on the validated comparisons (ALMoST), and on the raw ones (the no-filter ablation).
var rm = await pipeline.TrainRewardModelAsync(comparisons["validated"].Select(TinyWorldPipeline.ToPreference).ToList(), "almost", progress: bars.Bar("5-rm-almost"), cancellationToken: ct);
var rmRaw = await pipeline.TrainRewardModelAsync(comparisons["raw"].Select(TinyWorldPipeline.ToPreference).ToList(), "no_filter", progress: bars.Bar("5-rm-no-filter"), cancellationToken: ct);

// 6–7. Self-play guided by the RM (N candidates), plain self-play (N = 1), and SFT on each.
var almostSft = await stages.RunAsync("7-sft-almost", async () => await pipeline.SftAsync(
    await pipeline.SelfPlayAsync(rm, queries, options.Candidates, "almost", bars.Bar("6-selfplay-almost"), ct), "almost_sft", bars.Bar("7-sft-almost"), ct));
var plainSft = await stages.RunAsync("7-sft-plain", async () => await pipeline.SftAsync(
    await pipeline.SelfPlayAsync(rm, queries, 1, "plain", bars.Bar("6-selfplay-plain"), ct), "plain_selfplay_sft", bars.Bar("7-sft-plain"), ct));
var noFilterSft = await stages.RunAsync("7-sft-no-filter", async () => await pipeline.SftAsync(
    await pipeline.SelfPlayAsync(rmRaw, queries, options.Candidates, "no_filter", bars.Bar("6-selfplay-no-filter"), ct), "no_filter_sft", bars.Bar("7-sft-no-filter"), ct));

// 8. PPO from ALMoST-SFT against the RM: GAE with a critic from the RM, and the critic-free group baseline. The
//    evaluation harness watches every rollout with the oracle (reward hacking shows as RM up, oracle down).
var audit = new PolicyEvaluation(options.EvalTasks);
var ppoTrace = new List<PpoTracePoint>();
var almostPpo = await stages.RunAsync("8-ppo", async () =>
    await pipeline.PpoAsync(almostSft, pipeline.PathOf("rm", "almost"), rm, queries, groupBaseline: false, "almost_ppo", PpoTracePoint.Observer(audit, ppoTrace), bars.Bar("8-ppo"), ct));
PpoTracePoint.Save(pipeline.PathOf("policies", "almost_ppo", "oracle_trace.jsonl"), ppoTrace);
var groupPpo = await stages.RunAsync("8-ppo-group", async () =>
    await pipeline.PpoAsync(almostSft, pipeline.PathOf("rm", "almost"), rm, queries, groupBaseline: true, "almost_ppo_group", null, bars.Bar("8-ppo-group"), ct));

// 9. DPO from ALMoST-SFT on the validated comparisons, with and without label smoothing.
var almostDpo = await stages.RunAsync("9-dpo", async () => await pipeline.DpoAsync(almostSft, comparisons["validated"], 0.0, "almost_dpo", bars.Bar("9-dpo"), ct));
var smoothDpo = await stages.RunAsync("9-dpo-smoothed", async () => await pipeline.DpoAsync(almostSft, comparisons["validated"], 0.1, "almost_dpo_smoothed", bars.Bar("9-dpo-smoothed"), ct));

// 10. Evaluation by the oracle (audit side): every system answers the eval-split tasks. Then report.json, report.md
//     and the plots under plots/ (ReportPlots.cs).
var policies = new Dictionary<string, string>
{
    ["almost_sft"] = almostSft, ["plain_selfplay_sft"] = plainSft, ["no_filter_sft"] = noFilterSft, ["almost_ppo"] = almostPpo,
    ["almost_ppo_group"] = groupPpo, ["almost_dpo"] = almostDpo, ["almost_dpo_smoothed"] = smoothDpo,
};
var report = await stages.RunAsync("10-evaluation", async () =>
{
    audit.SystemEvaluated += bars.Bar("10-evaluation").Report;
    return await MainJobReport.BuildAsync(pipeline, audit, options, policies, comparisons, querySummary, stages, ct);
});
MainJobReport.Write(output, report, stages, bars.Log);
bars.Log($"report: {Path.Combine(output, "report.md")} and report.json");
await bars.DisposeAsync(); // the bars end here, so the report prints below them
Console.WriteLine(File.ReadAllText(Path.Combine(output, "report.md")));
