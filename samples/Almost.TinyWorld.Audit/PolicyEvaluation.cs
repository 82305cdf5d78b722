using Almost.Evaluation;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using Almost.TinyWorld.Zoo;

namespace Almost.TinyWorld;

/// <summary>One system's answers to the evaluation tasks and their oracle scores.</summary>
/// <param name="Name">The system's name (a report key such as <c>almost_sft</c>).</param>
/// <param name="Prompts">The context of each task as the judge sees it (the transcript prompt, no demonstrations).</param>
/// <param name="Responses">The system's reply to each task.</param>
/// <param name="Scores">The oracle's score of each reply.</param>
/// <param name="AtlasCorrectness">Mean correctness on the atlas-fact tasks (a measure of the alignment tax on knowledge).</param>
public sealed record SystemEvaluation(string Name, IReadOnlyList<string> Prompts, IReadOnlyList<string> Responses, IReadOnlyList<double> Scores, double AtlasCorrectness)
{
    /// <summary>The mean oracle score.</summary>
    public double Mean => Scores.Average();

    /// <summary>A normal-approximation 95 % interval of the mean (1.96 standard errors; n is in the hundreds).</summary>
    public (double Lower, double Upper) Interval95
    {
        get
        {
            var interval = MeanInterval.Of(Scores);
            return (interval.Lower, interval.Upper);
        }
    }
}

/// <summary>
/// The audit of a pipeline run: the evaluation tasks (eval split, answer keys hidden from the pipeline), a system's
/// answers scored by the oracle, win rates by the oracle judge, and the alignment tax (held-out corpus loss). Only the
/// main job's evaluation code uses it; the pipeline never does.
/// </summary>
public sealed class PolicyEvaluation
{
    /// <summary>Seed of the evaluation task set (the world files' evaluation prompts come from the same tasks).</summary>
    public const int EvaluationSeed = 11;

    private readonly Oracle _oracle = new();

    // One parser for every score: building one compiles every template and samples the generator's vocabularies.
    private readonly TaskQueryParser _parser = new();

    /// <summary>Creates the evaluation over <paramref name="taskCount"/> eval-split tasks.</summary>
    /// <param name="taskCount">Tasks.</param>
    public PolicyEvaluation(int taskCount)
    {
        Tasks = new TaskGenerator(EvaluationSeed).Generate(TaskSplit.Eval, taskCount);
        Judge = new OracleJudge(oracle: null, _parser);
    }

    /// <summary>The evaluation tasks.</summary>
    public IReadOnlyList<TinyTask> Tasks { get; }

    /// <summary>The judge for win rates.</summary>
    public OracleJudge Judge { get; }

    /// <summary>Raised when <see cref="EvaluateAsync"/> has scored a system (the main job's progress display counts them).</summary>
    public event Action<SystemEvaluation>? SystemEvaluated;

    /// <summary>
    /// Answers every task with <paramref name="generator"/> (prompted with <paramref name="preamble"/> + the task's
    /// transcript prompt; temperature 0.7, 48 tokens, stop at the next turn) and scores each reply with the oracle.
    /// </summary>
    /// <param name="name">The system's name.</param>
    /// <param name="generator">The model.</param>
    /// <param name="preamble">Demonstrations before the prompt (empty for aligned policies).</param>
    /// <param name="seed">Sampling seed.</param>
    /// <param name="cancellationToken">Cancels generation.</param>
    /// <returns>The evaluation.</returns>
    public async Task<SystemEvaluation> EvaluateAsync(string name, ITextGenerator generator, string preamble, long seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var prompts = Tasks.Select(t => AlmostTranscript.FormatPrompt(t.Query)).ToArray();
        var results = await generator.GenerateAsync(prompts.Select(p => preamble + p).ToArray(), new GenerationOptions
        {
            Temperature = 0.7, MaxNewTokens = 48, StopStrings = AlmostTranscript.StopStrings, Seed = seed,
        }, null, cancellationToken);
        var replies = results.Select(r => AlmostTranscript.CutReply(r[0].Text)).ToArray();
        var scores = Tasks.Select((t, i) => _oracle.Score(t, replies[i])).ToArray();
        var atlas = Tasks.Select((t, i) => (t, i)).Where(x => x.t.Family == TaskFamily.AtlasFacts).Select(x => _oracle.Explain(x.t, replies[x.i]).Correctness).ToList();
        var evaluation = new SystemEvaluation(name, prompts, replies, scores, atlas.Count == 0 ? double.NaN : atlas.Average());
        SystemEvaluated?.Invoke(evaluation);
        return evaluation;
    }

    /// <summary>Win rate of system A over system B by the oracle judge, on the same tasks.</summary>
    /// <param name="a">System A.</param>
    /// <param name="b">System B.</param>
    /// <param name="cancellationToken">Cancels judging.</param>
    /// <returns>A's wins, losses and ties.</returns>
    public Task<WinRate> WinRateAsync(SystemEvaluation a, SystemEvaluation b, CancellationToken cancellationToken = default) =>
        WinRateEvaluation.CompareAsync(Judge, a.Prompts, a.Responses.Select(r => " " + r).ToArray(), b.Responses.Select(r => " " + r).ToArray(), cancellationToken);

    /// <summary>Mean next-token loss of a model on the held-out TinyWorld corpus (the check blocks of the zoo's eval corpus).</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="zooFolder">The zoo folder (its manifest names the corpus).</param>
    /// <returns>The loss.</returns>
    public static double HeldOutLoss(LlamaForCausalLM model, AlmostTokenizer tokenizer, string zooFolder) =>
        ZooCorpus.MeanLoss(model, ZooCorpus.CheckBlocks(tokenizer, ZooManifest.Load(zooFolder).Corpus));

    /// <summary>The oracle's score of one reply to one task (for audits of PPO rollouts).</summary>
    /// <param name="prompt">The transcript prompt of the task.</param>
    /// <param name="reply">The reply.</param>
    /// <returns>The score, or null when the prompt does not parse to a task.</returns>
    public double? Score(string prompt, string reply)
    {
        var query = AlmostTranscript.LastUserTurn(prompt);
        var task = query is null ? null : _parser.Parse(query);
        return task is null ? null : _oracle.Score(task, reply);
    }
}
