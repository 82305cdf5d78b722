using Almost.Data;
using Almost.Export.Gguf;
using Almost.Generation;
using Almost.LlamaCpp;
using Almost.Models.Llama;
using Almost.Rlhf.Dpo;
using Almost.Rlhf.Ppo;
using Almost.Rlhf.RewardModeling;
using Almost.Rlhf.Sft;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Synthetic;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.Filters;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Queries;
using Almost.Synthetic.Ranking;
using Almost.Synthetic.SelfPlay;
using Almost.Synthetic.Validation;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.TinyWorld.Pipeline;

/// <summary>
/// The ALMoST pipeline on TinyWorld, stage by stage, on the public world files and the zoo only (never the oracle or
/// an answer): synthetic queries → prompt configurations answer them → rule-of-thumb comparisons → heuristic filter →
/// cross-fitted post-validation → reward model → reward-model-guided self-play → SFT → PPO / DPO. Every stage writes
/// its artifacts under <see cref="PipelineOptions.OutputDir"/> and is usable alone; the main job
/// (samples/Almost.Quickstart) composes them and evaluates the policies with the audit.
/// </summary>
public sealed class TinyWorldPipeline : IDisposable
{
    private readonly Dictionary<string, (LlamaForCausalLM Model, AlmostTokenizer Tokenizer)> _vanilla = [];
    private readonly Dictionary<string, LlamaCppGenerator> _llamaCpp = [];

    /// <summary>Creates the pipeline over the zoo.</summary>
    /// <param name="options">Sizes, seed and output folder.</param>
    public TinyWorldPipeline(PipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        World = new TinyWorldFiles(options.ZooFolder ?? TinyWorldFiles.FindZoo());
        Directory.CreateDirectory(options.OutputDir);
    }

    /// <summary>The options.</summary>
    public PipelineOptions Options { get; }

    /// <summary>The world files and zoo.</summary>
    public TinyWorldFiles World { get; }

    /// <summary>Path of an artifact.</summary>
    /// <param name="parts">Path parts under the output folder.</param>
    /// <returns>The path.</returns>
    public string PathOf(params string[] parts) => Path.Combine([Options.OutputDir, .. parts]);

    /// <summary>A zoo model (loaded once, fp32 on CPU) and its tokenizer.</summary>
    /// <param name="size">tiny, small or base.</param>
    /// <returns>The model and tokenizer.</returns>
    public (LlamaForCausalLM Model, AlmostTokenizer Tokenizer) Vanilla(string size)
    {
        if (!_vanilla.TryGetValue(size, out var entry))
        {
            var folder = World.ModelFolder(size);
            entry = (LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 }), AlmostTokenizer.FromFolder(folder));
            _vanilla[size] = entry;
        }

        return entry;
    }

    /// <summary>Rows per batch of the pipeline's <see cref="LocalGenerator"/>s (docs/performance.md, "Dropping finished rows").</summary>
    public const int GenerationBatchSize = 128;

    /// <summary>A batched generator over a model (<see cref="GenerationBatchSize"/> rows per batch, finished rows dropped).</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <returns>The generator.</returns>
    public static LocalGenerator Generator(LlamaForCausalLM model, AlmostTokenizer tokenizer) =>
        new(model, tokenizer, new LocalGeneratorOptions { MaxBatchSize = GenerationBatchSize });

    /// <summary>
    /// The generator of a frozen zoo model, on the engine of <see cref="PipelineOptions.FrozenGenerator"/>: a
    /// <see cref="LocalGenerator"/>, or a <see cref="LlamaCppGenerator"/> (kept for the pipeline's lifetime) over an
    /// F32 GGUF export of the model, written once to <c>gguf/{size}.gguf</c> and reused by later calls and reruns.
    /// </summary>
    /// <param name="size">tiny, small or base.</param>
    /// <returns>The generator (<see cref="GenerationBatchSize"/> rows per batch locally; 32 and LibTorch's thread count for llama.cpp; one call at a time).</returns>
    public ITextGenerator FrozenGenerator(string size)
    {
        var (model, tokenizer) = Vanilla(size);
        if (Options.FrozenGenerator == FrozenGeneratorBackend.Local)
        {
            return Generator(model, tokenizer);
        }

        if (!_llamaCpp.TryGetValue(size, out var generator))
        {
            var path = PathOf("gguf", size + ".gguf");
            if (!File.Exists(path))
            {
                // BOS as LocalGenerator prepends it (the zoo was pretrained on <|endoftext|>-separated documents).
                model.SaveGguf(path, tokenizer, new GgufExportOptions { Name = $"tinyworld-{size}", AddBosToken = true });
            }

            generator = new LlamaCppGenerator(path, new LlamaCppGeneratorOptions
            {
                MaxBatchSize = 32, MaxSequenceLength = model.Config.MaxPositionEmbeddings, Threads = get_num_threads(),
            });
            _llamaCpp[size] = generator;
        }

        return generator;
    }

    /// <summary>The demonstration dialogues of a quality (<c>careful</c> or <c>sloppy</c>), from the world files.</summary>
    /// <param name="quality">The quality.</param>
    /// <returns>The dialogues.</returns>
    public Task<DemonstrationDialogues> DemonstrationsAsync(string quality) =>
        DemonstrationDialogues.LoadAsync(World.DemonstrationsPath(quality), quality);

    /// <summary>The prompt configuration named <c>{size}-{quality}-{shots}</c> (<c>tiny-0</c> = no demonstrations).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The configuration.</returns>
    public async Task<PromptConfiguration> ConfigurationAsync(string name)
    {
        var parts = name.Split('-');
        var (size, quality, shots) = parts.Length == 2 ? (parts[0], "careful", int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture))
            : (parts[0], parts[1], int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        var (model, _) = Vanilla(size);
        return new PromptConfiguration
        {
            Name = name, Generator = FrozenGenerator(size), Demonstrations = shots == 0 ? null : await DemonstrationsAsync(quality), Shots = shots,
            Sampling = new GenerationOptions { Temperature = 0.7, MaxNewTokens = 48, Seed = Options.Seed },
            ModelSize = model.Config.ParameterCount, DemonstrationQuality = quality == "careful" ? 1 : 0,
        };
    }

    /// <summary>Stage 1: Self-Instruct queries from the seed queries, decontaminated against the evaluation prompts.</summary>
    /// <param name="progress">Accepted queries against the target, after each round; may be null.</param>
    /// <param name="cancellationToken">Cancels between rounds.</param>
    /// <returns>The summary (queries accepted, rejected by reason, decontaminated).</returns>
    public async Task<QueryGenerationSummary> GenerateQueriesAsync(IProgress<SyntheticProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var decontaminator = new NgramDecontaminator(World.EvaluationPrompts());
        return await new QueryGenerator(FrozenGenerator(Options.QueryModel), new QueryGenerationOptions
        {
            TargetCount = Options.Queries, PromptsPerRound = 32, MaxRounds = Options.MaxQueryRounds, MaxRougeL = Options.MaxRougeL,
            Format = QueryPromptFormat.Transcript,
            Generation = new QueryGenerationOptions().Generation with { Seed = Options.Seed, MaxNewTokens = 32 },
        }, decontaminator).RunAsync(World.SeedQueries(), PathOf("queries.jsonl"), progress, cancellationToken);
    }

    /// <summary>The accepted queries of stage 1.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The queries.</returns>
    public Task<IReadOnlyList<SyntheticQuery>> QueriesAsync(CancellationToken cancellationToken = default) =>
        QueryGenerator.ReadAcceptedAsync(PathOf("queries.jsonl"), cancellationToken);

    /// <summary>Stage 2: every configuration of the rubric answers every query.</summary>
    /// <param name="queries">The queries.</param>
    /// <param name="progress">Answered prompts over all configurations; may be null.</param>
    /// <param name="cancellationToken">Cancels between chunks.</param>
    /// <returns>The responses per query.</returns>
    public async Task<IReadOnlyList<QueryResponses>> GenerateResponsesAsync(IReadOnlyList<SyntheticQuery> queries, IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var configurations = new List<PromptConfiguration>();
        foreach (var name in Options.Rubric.Split('|').SelectMany(chain => RankingRubric.Parse(chain).Configurations).Distinct())
        {
            configurations.Add(await ConfigurationAsync(name));
        }

        return await new ResponseGenerationJob().RunAsync(queries, configurations, PathOf("responses"), progress, cancellationToken);
    }

    /// <summary>Stage 3: rule-of-thumb comparisons, without filter (<c>raw</c>) or with the heuristic filter (<c>filtered</c>).</summary>
    /// <param name="responses">Stage 2's responses.</param>
    /// <param name="filtered">Apply the heuristic filter.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The comparisons and pairing statistics.</returns>
    public async Task<PairingResult> CompareAsync(IReadOnlyList<QueryResponses> responses, bool filtered, CancellationToken cancellationToken = default)
    {
        var filter = filtered
            ? new HeuristicResponseFilter(new HeuristicFilterOptions
            {
                MinLength = Options.FilterMinLength, RejectEndsWithQuestionOrColon = false, RejectStartsWithWell = false,
                RequireFinalPeriodOrExclamation = false, RejectDontKnow = false, RejectHumanTurn = false,
            })
            : null;
        var result = ComparisonBuilder.BuildChains(Options.Rubric, filter, new PairingOptions { LengthGuard = false }, responses);
        await ComparisonBuilder.WriteAsync(PathOf(filtered ? "comparisons_filtered.jsonl" : "comparisons_raw.jsonl"), result.Comparisons, cancellationToken);
        return result;
    }

    /// <summary>Stage 4: cross-fitted post-validation: each fold is kept where a reward model trained on the other folds agrees.</summary>
    /// <param name="comparisons">Filtered comparisons.</param>
    /// <param name="progress">Folds done of K; may be null.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The kept comparisons.</returns>
    public async Task<ValidationResult> PostValidateAsync(IReadOnlyList<SyntheticComparison> comparisons, IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var result = await new CrossFittedValidator(async (training, fold, ct) =>
                (IRewardModel)await TrainRewardModelAsync(training.Select(ToPreference).ToList(), $"validation-fold{fold}", null, cancellationToken: ct),
                new CrossFitOptions { Folds = 2, Seed = Options.Seed })
            .ValidateAsync(comparisons, PathOf("validation.jsonl"), progress, cancellationToken);
        await ComparisonBuilder.WriteAsync(PathOf("comparisons_validated.jsonl"), result.Kept, cancellationToken);
        return result;
    }

    /// <summary>Stage 5: a reward model initialised from a zoo model, trained one epoch on comparisons (Bradley–Terry).</summary>
    /// <param name="pairs">The comparisons as preference records.</param>
    /// <param name="name">The run's name (its folder under <c>rm/</c>).</param>
    /// <param name="size">The zoo model to start from; null for <see cref="PipelineOptions.RewardModel"/>.</param>
    /// <param name="progress">Training progress at each logging step (not reported when the model was trained before); may be null.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The trained reward model (scores normalised by its training-set statistics).</returns>
    public async Task<RewardModel> TrainRewardModelAsync(IReadOnlyList<PreferenceRecord> pairs, string name, string? size = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var folder = PathOf("rm", name);
        var (_, tokenizer) = Vanilla(size ?? Options.RewardModel);
        if (!File.Exists(Path.Combine(folder, "model.safetensors")))
        {
            var model = LlamaForSequenceClassification.FromCausalLm(World.ModelFolder(size ?? Options.RewardModel), new ModelOptions { Device = "cpu", Seed = Options.Seed });
            await new RewardModelTrainer(model, tokenizer, pairs, new RewardModelTrainingOptions
            {
                OutputDir = folder, LearningRate = Options.RewardModelLearningRate, PerDeviceBatchSize = 16, Epochs = Options.RewardModelEpochs,
                LoggingSteps = 5, SaveSteps = 50,
                ResumeFromCheckpoint = true, Seed = Options.Seed,
            }).TrainAsync(progress, cancellationToken);
            model.Dispose();
        }

        var trained = LlamaForSequenceClassification.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
        return new RewardModel(trained, tokenizer, new RewardModelOptions { Normalize = trained.Normalization is not null });
    }

    /// <summary>Stage 6: reward-model-guided self-play (N candidates per assistant turn; N = 1 is plain self-play).</summary>
    /// <param name="rewardModel">The selector.</param>
    /// <param name="queries">Opening queries.</param>
    /// <param name="candidates">N.</param>
    /// <param name="name">The output's name (<c>selfplay_{name}.jsonl</c>).</param>
    /// <param name="progress">Dialogues written of all; may be null.</param>
    /// <param name="cancellationToken">Cancels between chunks.</param>
    /// <returns>The SFT demonstrations.</returns>
    public async Task<IReadOnlyList<ConversationRecord>> SelfPlayAsync(IRewardModel rewardModel, IReadOnlyList<SyntheticQuery> queries, int candidates, string name,
        IProgress<SelfPlayProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var careful = await DemonstrationsAsync("careful");
        var preamble = string.Concat(careful.Dialogues.Select(d => AlmostTranscript.Format(d, addGenerationPrompt: false)));
        var sampling = new GenerationOptions { Temperature = 0.7, MaxNewTokens = 48 };
        var play = new RewardModelSelfPlay(
            new SelfPlayRole(FrozenGenerator(Options.QueryModel), preamble, sampling with { MaxNewTokens = 32 }),
            new SelfPlayRole(FrozenGenerator(Options.PolicyModel), preamble, sampling),
            rewardModel,
            new SelfPlayOptions
            {
                CandidatesPerTurn = candidates, MaxTurns = 2, Seed = Options.Seed, ChunkSize = 32, ConsensusWeight = Options.SelfPlayConsensusWeight,
            });
        var opening = Enumerable.Range(0, Options.Dialogues).Select(i => queries[i % queries.Count].Text).ToList();
        var path = PathOf($"selfplay_{name}.jsonl");
        await play.RunAsync(opening, path, progress, cancellationToken);
        return SelfPlayRecord.ToDemonstrations((await JsonlReader.ReadAllAsync<SelfPlayRecord>(path, cancellationToken: cancellationToken)).Records);
    }

    /// <summary>Stage 7: SFT of the policy's zoo model on demonstrations; the policy is saved under <c>policies/{name}</c>.</summary>
    /// <param name="demonstrations">The dialogues.</param>
    /// <param name="name">The policy's name.</param>
    /// <param name="progress">Training progress at each logging step (not reported when the policy was trained before); may be null.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The policy's folder.</returns>
    public async Task<string> SftAsync(IReadOnlyList<ConversationRecord> demonstrations, string name, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var folder = PathOf("policies", name);
        if (!File.Exists(Path.Combine(folder, "model.safetensors")))
        {
            var start = World.ModelFolder(Options.PolicyModel);
            using var policy = LlamaForCausalLM.FromPretrained(start, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
            var tokenizer = AlmostTokenizer.FromFolder(start);
            var replay = await ReplayDocumentsAsync(demonstrations, tokenizer, cancellationToken);
            await new SftTrainer(policy, tokenizer, demonstrations, new SftTrainingOptions
            {
                OutputDir = folder, LearningRate = Options.SftPeakLearningRate, PerDeviceBatchSize = 16, Epochs = Options.SftEpochs, LoggingSteps = 5, SaveSteps = 100,
                ResumeFromCheckpoint = true, Seed = Options.Seed, MaxLength = 256, Lora = Options.SftLora,
            }, replayDocuments: replay).TrainAsync(progress, cancellationToken);
            CopyTokenizer(start, folder);
        }

        return folder;
    }

    /// <summary>
    /// The pretraining-sample documents SFT replays (<see cref="PipelineOptions.SftReplayRatio"/>): the file's first
    /// documents whose tokens reach the ratio times the demonstrations' trained tokens; none at ratio 0.
    /// </summary>
    /// <param name="demonstrations">The dialogues SFT trains on.</param>
    /// <param name="tokenizer">The policy's tokenizer.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The documents.</returns>
    /// <exception cref="InvalidDataException">The ratio asks for more tokens than the sample holds.</exception>
    public async Task<IReadOnlyList<TextRecord>> ReplayDocumentsAsync(IReadOnlyList<ConversationRecord> demonstrations, AlmostTokenizer tokenizer,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Options.SftReplayRatio);
        if (Options.SftReplayRatio == 0)
        {
            return [];
        }

        var sft = new SftTokenizer(tokenizer);
        long budget = (long)Math.Ceiling(Options.SftReplayRatio * demonstrations.Sum(d => sft.Encode(d).TargetCount));
        var sample = await World.PretrainingSampleAsync(cancellationToken);
        var taken = new List<TextRecord>();
        long tokens = 0;
        foreach (var document in sample)
        {
            if (tokens >= budget)
            {
                return taken;
            }

            taken.Add(document);
            tokens += sft.Encode(document).InputIds.Length;
        }

        return tokens >= budget ? taken : throw new InvalidDataException(
            $"{World.PretrainingSamplePath}: SftReplayRatio {Options.SftReplayRatio} asks for {budget} replay tokens; the sample holds {tokens}.");
    }

    /// <summary>Stage 8: PPO from an SFT policy against the reward model (critic from the reward model, or critic-free group baseline).</summary>
    /// <param name="sftFolder">The SFT policy.</param>
    /// <param name="rewardModelFolder">The reward model's folder (critic initialisation and scorer).</param>
    /// <param name="rewardModel">The scorer (already normalised by the reward model's training-set statistics).</param>
    /// <param name="queries">Rollout prompts (their queries).</param>
    /// <param name="groupBaseline">Critic-free RLOO advantages instead of GAE with a critic.</param>
    /// <param name="name">The policy's name.</param>
    /// <param name="observer">Receives every rollout (the main job audits them).</param>
    /// <param name="progress">Training progress at each logging step (not reported when the policy was trained before); may be null.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The policy's folder.</returns>
    public async Task<string> PpoAsync(string sftFolder, string rewardModelFolder, IRewardModel rewardModel, IReadOnlyList<SyntheticQuery> queries,
        bool groupBaseline, string name, Action<PpoRolloutSummary>? observer = null, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var folder = PathOf("policies", name);
        if (!File.Exists(Path.Combine(folder, "model.safetensors")))
        {
            var options = new ModelOptions { Device = "cpu", DType = ScalarType.Float32 };
            using var policy = LlamaForCausalLM.FromPretrained(sftFolder, options);
            using var reference = LlamaForCausalLM.FromPretrained(sftFolder, options);
            using var critic = groupBaseline ? null : LlamaForSequenceClassification.FromPretrained(rewardModelFolder, options);
            var tokenizer = AlmostTokenizer.FromFolder(sftFolder);
            var trainer = new PpoTrainer(policy, reference, critic, tokenizer, rewardModel,
                queries.Select(q => AlmostTranscript.FormatPrompt(q.Text)).ToList(), new PpoTrainingOptions
                {
                    OutputDir = folder, LearningRate = 2e-5, CriticLearningRate = 1e-4, MaxSteps = Options.PpoSteps, RolloutBatchSize = groupBaseline ? 8 : 16,
                    SamplesPerPrompt = groupBaseline ? 4 : 1, AdvantageEstimator = groupBaseline ? new GroupAdvantageEstimator() : new GaeAdvantageEstimator(),
                    MiniBatchSize = 8, PpoEpochs = 2, KlCoefficient = 0.05, KlTarget = 2, MaxKl = 20, Temperature = 0.7,
                    MaxNewTokens = 48, LoggingSteps = 1, SaveSteps = 8, ResumeFromCheckpoint = true, Seed = Options.Seed, WarmupSteps = 0,
                });
            if (observer is not null)
            {
                trainer.RolloutCompleted += observer;
            }

            await trainer.TrainAsync(progress, cancellationToken);
            CopyTokenizer(sftFolder, folder);
        }

        return folder;
    }

    /// <summary>Stage 9: DPO from an SFT policy on comparisons (reference log-probs cached before training).</summary>
    /// <param name="sftFolder">The SFT policy (also the reference).</param>
    /// <param name="comparisons">The post-validated comparisons.</param>
    /// <param name="labelSmoothing">Label smoothing ε (robust DPO).</param>
    /// <param name="name">The policy's name.</param>
    /// <param name="progress">Training progress at each logging step (reference log-probs are cached first, unreported); may be null.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <returns>The policy's folder.</returns>
    public async Task<string> DpoAsync(string sftFolder, IReadOnlyList<SyntheticComparison> comparisons, double labelSmoothing, string name,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var folder = PathOf("policies", name);
        if (!File.Exists(Path.Combine(folder, "model.safetensors")))
        {
            var options = new ModelOptions { Device = "cpu", DType = ScalarType.Float32 };
            var tokenizer = AlmostTokenizer.FromFolder(sftFolder);
            var examples = DpoTrainer.Tokenize(comparisons.Select(ToPreference), tokenizer, 256);
            using (var reference = LlamaForCausalLM.FromPretrained(sftFolder, options))
            {
                examples = DpoTrainer.CacheReferenceLogProbs(reference, examples, 16, cancellationToken);
            }

            using var policy = LlamaForCausalLM.FromPretrained(sftFolder, options);
            await new DpoTrainer(policy, examples, new DpoTrainingOptions
            {
                OutputDir = folder, LearningRate = 5e-5, Beta = 0.1, LabelSmoothing = labelSmoothing, PerDeviceBatchSize = 8, Epochs = 2,
                LoggingSteps = 5, SaveSteps = 100, ResumeFromCheckpoint = true, Seed = Options.Seed,
            }).TrainAsync(progress, cancellationToken);
            CopyTokenizer(sftFolder, folder);
        }

        return folder;
    }

    /// <summary>A comparison as a TRL preference record (prompt = the transcript context, responses with their leading space).</summary>
    /// <param name="c">The comparison.</param>
    /// <returns>The record.</returns>
    public static PreferenceRecord ToPreference(SyntheticComparison c) => new() { Prompt = c.Prompt, Chosen = c.Chosen, Rejected = c.Rejected };

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (model, _) in _vanilla.Values)
        {
            model.Dispose();
        }

        _vanilla.Clear();
        foreach (var generator in _llamaCpp.Values)
        {
            generator.Dispose();
        }

        _llamaCpp.Clear();
    }

    private static void CopyTokenizer(string from, string to)
    {
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt" })
        {
            var source = Path.Combine(from, file);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(to, file), overwrite: true);
            }
        }
    }
}
