using System.Diagnostics;
using System.Globalization;
using Almost.Devices;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>
/// PPO against a reward model with a per-token KL penalty to a frozen reference policy (ALMoST-PPO, RLHF's standard
/// recipe): each step samples a rollout from the policy, scores it, estimates advantages (GAE with a critic, or a
/// critic-free group baseline), and runs clipped policy and value updates over minibatches for a few epochs. The values
/// come from a separate critic or from a value head on the policy trunk (<see cref="PpoTrainingOptions.CriticMode"/>). Built on
/// the training core (<see cref="OptimizerStepper"/>, <see cref="CheckpointManager"/>, <see cref="MetricsSink"/>), so it
/// checkpoints and resumes exactly.
/// </summary>
/// <remarks>
/// <para>
/// Rollout: prompts (in an order shuffled per epoch from the seed) are encoded and sampled by the KV-cache generator
/// under no-grad, with seeds derived from (seed, step) — so a resumed step samples what the uninterrupted run sampled.
/// A response is cut after its first EOS (kept as the last token, the policy's action of stopping) or after a stop
/// string; one that reaches <see cref="PpoTrainingOptions.MaxNewTokens"/> instead is penalised
/// (<see cref="PpoTrainingOptions.MissingEosPenalty"/>). Sequences are left-padded prompts followed by right-padded
/// responses, with explicit position ids (the count of real tokens before each one).
/// </para>
/// <para>
/// Scores: the <see cref="IRewardModel"/> reads <c>prompt + " " + reply</c> (the form self-play and reward-model
/// training use), normalised with <see cref="PpoTrainingOptions.RewardNormalization"/> and clipped. Old log-probs,
/// reference log-probs and values are recomputed in eval mode after sampling, with logits divided by the sampling
/// temperature in every pass. Token rewards are <c>−β·KL</c> on every response token plus the score on the last one;
/// padding gets no reward and no loss.
/// </para>
/// <para>
/// Shared trunk (<see cref="CriticMode.SharedTrunk"/>): the values are a Linear(hidden, 1) head on the policy's final
/// hidden states, read at the same positions as the logits, so each pass of the trunk gives both. Each minibatch takes
/// one backward of <c>policy_loss + ValueLossCoefficient · value_loss</c> (the value loss shapes the trunk too), then
/// a step of the policy's optimizer and one of the head's (learning rate <see cref="PpoTrainingOptions.CriticLearningRate"/>).
/// The head is checkpointed with its optimizer and saved as <c>value_head.safetensors</c> beside the policy, whose
/// <c>model.safetensors</c> keeps the Hugging Face keys.
/// </para>
/// </remarks>
public sealed class PpoTrainer : ITrainer
{
    private const string CriticFolder = "critic";
    private const string ValueHeadOptimizerFileName = "value_head_optimizer.bin";

    /// <summary>
    /// The file of the value head (<see cref="CriticMode.SharedTrunk"/>), written beside the policy's
    /// <c>model.safetensors</c> and into every checkpoint: <c>v_head.summary.weight</c> (1, hidden) and
    /// <c>v_head.summary.bias</c> (1), fp32, TRL's <c>AutoModelForCausalLMWithValueHead</c> names.
    /// </summary>
    public const string ValueHeadFileName = "value_head.safetensors";

    private readonly LlamaForCausalLM _policy;
    private readonly LlamaForCausalLM _reference;
    private readonly LlamaForSequenceClassification? _critic;
    private readonly AlmostTokenizer _tokenizer;
    private readonly IRewardModel _rewardModel;
    private readonly IReadOnlyList<string> _prompts;
    private readonly ILogger _logger;
    private readonly int _padId;
    private readonly int? _eosId;

    /// <summary>Checks the models, prompts and options; training starts with <see cref="TrainAsync"/>.</summary>
    /// <param name="policy">The policy (the SFT model), trained in place.</param>
    /// <param name="reference">A frozen copy of the starting policy (load the SFT checkpoint a second time); never trained.</param>
    /// <param name="critic">
    /// The value model, initialised from the reward model, for <see cref="CriticMode.Separate"/>; null for
    /// <see cref="CriticMode.SharedTrunk"/> (the trainer makes the value head) and for critic-free estimators.
    /// </param>
    /// <param name="tokenizer">The policy's tokenizer.</param>
    /// <param name="rewardModel">The reward to maximise.</param>
    /// <param name="prompts">Rollout prompts, rendered (for the transcript: ending with <c>"\n\nAssistant:"</c>).</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <exception cref="ArgumentException">No prompts, a missing critic (or one given with a shared trunk), the policy given as its own reference, mismatched vocabularies, or an option out of range.</exception>
    public PpoTrainer(
        LlamaForCausalLM policy,
        LlamaForCausalLM reference,
        LlamaForSequenceClassification? critic,
        AlmostTokenizer tokenizer,
        IRewardModel rewardModel,
        IReadOnlyList<string> prompts,
        PpoTrainingOptions options,
        ILogger<PpoTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(rewardModel);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (ReferenceEquals(policy, reference))
        {
            throw new ArgumentException("The reference must be a separate frozen copy of the policy (load the SFT checkpoint twice).", nameof(reference));
        }

        if (options.CriticMode == CriticMode.Separate && critic is null)
        {
            throw new ArgumentException(
                $"{options.AdvantageEstimator.GetType().Name} needs a critic; pass one (initialised from the reward model), " +
                "set CriticMode = SharedTrunk for a value head on the policy, or use GroupAdvantageEstimator.", nameof(critic));
        }

        if (options.CriticMode == CriticMode.SharedTrunk && critic is not null)
        {
            throw new ArgumentException(
                "CriticMode.SharedTrunk reads the values from a head on the policy trunk; pass critic: null (a separate critic would never be used).",
                nameof(critic));
        }

        if (reference.Config.VocabSize != policy.Config.VocabSize)
        {
            throw new ArgumentException($"The reference has a vocabulary of {reference.Config.VocabSize}, the policy {policy.Config.VocabSize}; expected the same model.", nameof(reference));
        }

        if (prompts.Count == 0 || prompts.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException(prompts.Count == 0 ? "No prompts: there is nothing to roll out." : "A prompt is empty.", nameof(prompts));
        }

        _policy = policy;
        _reference = reference;
        _critic = options.CriticMode == CriticMode.Separate ? critic : null;
        _tokenizer = tokenizer;
        _rewardModel = rewardModel;
        _prompts = prompts;
        _logger = (ILogger?)logger ?? NullLogger<PpoTrainer>.Instance;
        _padId = policy.Config.ResolvePadTokenId(tokenizer.PadTokenId);
        _eosId = tokenizer.EosTokenId ?? policy.Config.EosTokenId;
        Options = options;
        StepsPerEpoch = (prompts.Count + options.RolloutBatchSize - 1) / options.RolloutBatchSize;
        TotalSteps = options.MaxSteps ?? (long)StepsPerEpoch * options.Epochs;
        TrainableParameters = Trainable(policy) + options.CriticMode switch
        {
            CriticMode.Separate => Trainable(critic!),
            CriticMode.SharedTrunk => PolicyValueHead.ParameterCount(policy.Config.HiddenSize),
            _ => 0,
        };
        foreach (var p in _reference.parameters())
        {
            p.requires_grad = false;
        }
    }

    /// <summary>Raised after every rollout with its prompts, responses and raw scores (on the training thread).</summary>
    public event Action<PpoRolloutSummary>? RolloutCompleted;

    /// <summary>The options of this run.</summary>
    public PpoTrainingOptions Options { get; }

    /// <summary>Steps (rollout + update iterations) per pass over the prompts.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>
    /// Parameters this run trains: the policy's plus the separate critic's, or plus the value head's (hidden + 1) with
    /// a shared trunk. Each holds its weight, its gradient and AdamW's two moments (4 values, 16 bytes in fp32); the
    /// frozen reference comes on top, the same in every mode.
    /// </summary>
    public long TrainableParameters { get; }

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private TrainingResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var o = Options;
        Directory.CreateDirectory(o.OutputDir);
        using var policyStepper = new OptimizerStepper(_policy, o, TotalSteps);
        var criticOptions = o with { LearningRate = o.CriticLearningRate ?? o.LearningRate };
        using var valueHead = o.CriticMode == CriticMode.SharedTrunk
            ? new PolicyValueHead(_policy.Config.HiddenSize, Determinism.DeriveSeed(o.Seed, "ppo-value-head"), _policy.Device)
            : null;
        using var criticStepper = _critic is not null ? new OptimizerStepper(_critic, criticOptions, TotalSteps, "critic_optimizer.bin")
            : valueHead is not null ? new OptimizerStepper(valueHead, criticOptions, TotalSteps, ValueHeadOptimizerFileName)
            : null;
        KlController kl = o.KlTarget is { } target ? new AdaptiveKlController(o.KlCoefficient, target, o.KlHorizon) : new FixedKlController(o.KlCoefficient);
        var checkpoints = new CheckpointManager(o.OutputDir, _logger);
        checkpoints.Register("policy", CheckpointParts.FromDelegates(f => _policy.SavePretrained(f), f => _policy.LoadWeights(f)));
        checkpoints.Register("optimizer", policyStepper);
        if (_critic is not null && criticStepper is not null)
        {
            checkpoints.Register("critic", CheckpointParts.FromDelegates(
                f => _critic.SavePretrained(Path.Combine(f, CriticFolder)), f => _critic.LoadWeights(Path.Combine(f, CriticFolder))));
            checkpoints.Register("critic_optimizer", criticStepper);
        }

        if (valueHead is not null && criticStepper is not null)
        {
            checkpoints.Register("value_head", CheckpointParts.FromDelegates(valueHead.Save, valueHead.Load));
            checkpoints.Register("value_head_optimizer", criticStepper);
        }

        checkpoints.Register("kl_controller", CheckpointParts.Json("kl_controller.json", () => kl.Value, kl.Restore));
        var settings = Settings(policyStepper, criticStepper);
        long start = 0;
        long? resumedFrom = null;
        var resumed = o.ResumeFromCheckpoint ? checkpoints.TryResume((state, folder) => ResumeSettings.Check(state, folder, settings, o.AllowChangedSettingsOnResume, _logger)) : null;
        if (resumed is { } found)
        {
            start = found.State.GlobalStep;
            resumedFrom = start;
            _logger.LogInformation("Resuming PPO from {Checkpoint} at step {Step}/{TotalSteps}", found.Folder, start, TotalSteps);
        }
        else
        {
            checkpoints.DeleteAll();
        }

        using var metrics = MetricsSink.Open(o.OutputDir, start, _logger, progress);
        var generator = new LocalGenerator(_policy, _tokenizer);
        _reference.eval();
        double? lastLoss = null;
        IReadOnlyDictionary<string, double> lastMetrics = new Dictionary<string, double>();
        bool stoppedEarly = false;
        long done = start;
        for (var step = start; step < TotalSteps; step++)
        {
            var lr = policyStepper.BeginStep(step);
            criticStepper?.BeginStep(step);
            var iteration = Stopwatch.StartNew();
            Dictionary<string, double> stats;
            double loss, gradNorm;
            long responseTokens;
            using (var scope = NewDisposeScope())
            {
                var (experience, rolloutStats, summary) = Rollout(generator, step, kl.Value, valueHead, cancellationToken);
                var rolloutSeconds = iteration.Elapsed.TotalSeconds;
                RolloutCompleted?.Invoke(summary);
                var train = Stopwatch.StartNew();
                (loss, gradNorm, stats) = Update(experience, step, policyStepper, criticStepper, valueHead);
                stats["rollout_s"] = rolloutSeconds;
                stats["train_s"] = train.Elapsed.TotalSeconds;
                foreach (var (k, v) in rolloutStats)
                {
                    stats[k] = v;
                }

                responseTokens = (long)rolloutStats["response_tokens"];
            }

            kl.Update(stats["kl"], (int)(o.RolloutBatchSize * o.SamplesPerPrompt));
            stats["kl_coef"] = kl.Value;
            done = step + 1;
            lastLoss = loss;
            lastMetrics = stats;
            var seconds = iteration.Elapsed.TotalSeconds;
            if (done % o.LoggingSteps == 0 || done == TotalSteps)
            {
                metrics.Report(new TrainingProgress(done, TotalSteps, (double)done / StepsPerEpoch, loss, lr, gradNorm,
                    seconds > 0 ? responseTokens / seconds : 0) { Metrics = stats });
            }

            if (o.MaxKl is { } maxKl && stats["kl"] > maxKl)
            {
                _logger.LogWarning("PPO stopped early at step {Step}: KL to the reference {Kl:F3} passed the bound {MaxKl}", done, stats["kl"], maxKl);
                stoppedEarly = true;
                break;
            }

            var cancelled = cancellationToken.IsCancellationRequested;
            var save = (o.SaveSteps > 0 && done % o.SaveSteps == 0 && done < TotalSteps) || (cancelled && o.SaveCheckpointOnCancel && done < TotalSteps);
            if (save)
            {
                checkpoints.Save(new TrainerState
                {
                    GlobalStep = done, TotalSteps = TotalSteps, Seed = o.Seed, Epoch = done / StepsPerEpoch, StepInEpoch = done % StepsPerEpoch,
                    LearningRate = lr, Loss = lastLoss, Settings = settings,
                }, o.SaveTotalLimit);
            }

            if (cancelled && done < TotalSteps)
            {
                _logger.LogInformation("PPO cancelled after step {Step}/{TotalSteps}; checkpoint saved: {Saved}", done, TotalSteps, save);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        _policy.SavePretrained(o.OutputDir);
        _critic?.SavePretrained(Path.Combine(o.OutputDir, CriticFolder));
        valueHead?.Save(o.OutputDir);
        _logger.LogInformation("PPO finished at step {Step}; policy saved to {OutputDir}", done, o.OutputDir);
        var resultMetrics = new Dictionary<string, double>(lastMetrics) { ["stopped_early"] = stoppedEarly ? 1 : 0 };
        return new TrainingResult(done, (double)done / StepsPerEpoch, lastLoss, null, o.OutputDir, resumedFrom, clock.Elapsed)
        {
            Metrics = resultMetrics,
        };
    }

    /// <summary>The prompts of step <paramref name="step"/>: a window of the epoch's shuffled order (a pure function of the step).</summary>
    internal IReadOnlyList<string> PromptsOf(long step)
    {
        var epoch = step / StepsPerEpoch;
        var order = Enumerable.Range(0, _prompts.Count).ToArray();
        var random = Determinism.CreateRandom(Options.Seed, $"ppo-epoch-{epoch}");
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var first = (int)(step % StepsPerEpoch) * Options.RolloutBatchSize;
        // The last window of an epoch wraps to the epoch's start so every rollout has RolloutBatchSize prompts.
        return Enumerable.Range(first, Options.RolloutBatchSize).Select(i => _prompts[order[i % order.Length]]).ToArray();
    }

    private (PpoExperience Experience, Dictionary<string, double> Stats, PpoRolloutSummary Summary) Rollout(
        LocalGenerator generator, long step, double klCoefficient, PolicyValueHead? valueHead, CancellationToken cancellationToken)
    {
        var o = Options;
        int k = o.SamplesPerPrompt;
        var prompts = PromptsOf(step);
        var promptIds = prompts.Select(p => _tokenizer.Encode(p, _tokenizer.BosTokenId is not null)).ToArray();
        _policy.eval();
        var results = generator.Generate(promptIds, new GenerationOptions
        {
            MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature, TopP = o.TopP, StopStrings = o.StopStrings,
            SamplesPerPrompt = k, Seed = Determinism.DeriveSeed(o.Seed, $"ppo-rollout-{step}"),
        }, null, cancellationToken);

        // Rows are (prompt, sample), samples of a prompt contiguous (group estimators rely on it).
        int b = prompts.Count * k;
        var rowPrompt = new int[b][];
        var rowResponse = new int[b][];
        var rowText = new string[b];
        var rowPromptText = new string[b];
        var missingEos = new bool[b];
        for (int p = 0; p < prompts.Count; p++)
        {
            for (int s = 0; s < k; s++)
            {
                var r = results[p][s];
                var ids = r.TokenIds.ToList();
                if (r.FinishReason == FinishReason.Eos && _eosId is { } eos)
                {
                    ids.Add(eos); // Stopping is an action: the EOS token is the last response token.
                }

                if (ids.Count == 0)
                {
                    ids.Add(_eosId ?? _padId);
                }

                int row = (p * k) + s;
                rowPrompt[row] = promptIds[p];
                rowResponse[row] = [.. ids];
                rowText[row] = AlmostTranscript.CutReply(r.Text);
                rowPromptText[row] = prompts[p];
                missingEos[row] = r.FinishReason == FinishReason.Length;
            }
        }

        var rawScores = _rewardModel.ScoreAsync(
            rowText.Select((t, i) => new RewardModelInput(rowPromptText[i], " " + t)).ToArray(), cancellationToken).GetAwaiter().GetResult();
        var processed = new float[b];
        for (int i = 0; i < b; i++)
        {
            var s = rawScores[i];
            if (o.RewardNormalization is { } norm)
            {
                s = (s - norm.Mean) / norm.Std;
            }

            if (o.RewardClip > 0)
            {
                s = Math.Clamp(s, -o.RewardClip, o.RewardClip);
            }

            if (missingEos[i] && o.MissingEosPenalty is { } penalty)
            {
                s -= penalty;
            }

            processed[i] = (float)s;
        }

        var device = _policy.Device;
        var (inputIds, attention, positions, responseMask) = BuildSequences(rowPrompt, rowResponse, _padId, device);
        long promptLength = rowPrompt.Max(p => p.Length), responseLength = responseMask.shape[1];
        Tensor oldLogProbs, refLogProbs;
        Tensor? values = null;
        using (no_grad())
        {
            Tensor? headValues;
            (oldLogProbs, _, headValues) = ResponseLogProbs(_policy, inputIds, attention, positions, promptLength, responseLength, withEntropy: false, valueHead);
            refLogProbs = ResponseLogProbs(_reference, inputIds, attention, positions, promptLength, responseLength, withEntropy: false).LogProbs;
            if (_critic is not null)
            {
                _critic.eval();
                values = _critic.TokenScores(inputIds, attention).narrow(1, promptLength - 1, responseLength) * responseMask;
            }
            else if (headValues is not null)
            {
                values = headValues * responseMask;
            }
        }

        var scores = tensor(processed, device: device);
        var klPerToken = KlPenalty.PerToken(oldLogProbs, refLogProbs, responseMask, o.KlEstimator);
        var rewards = KlPenalty.TokenRewards(scores, klPerToken, responseMask, klCoefficient);
        var (advantages, returns) = o.AdvantageEstimator.Estimate(new AdvantageInput(rewards, values, responseMask, scores, k));
        if (o.WhitenAdvantages)
        {
            advantages = MaskedOps.Whiten(advantages, responseMask);
        }

        var hostStats = new List<Tensor>
        {
            klPerToken.sum(1).mean(), responseMask.sum(1).mean(),
        };
        double explained = double.NaN;
        if (values is not null && returns is not null)
        {
            var residual = MaskedOps.Variance(returns - values, responseMask);
            hostStats.Add(1 - (residual / MaskedOps.Variance(returns, responseMask).clamp_min(1e-8)));
        }

        var host = stack(hostStats.ToArray()).cpu().data<float>().ToArray();
        if (host.Length > 2)
        {
            explained = host[2];
        }

        var stats = new Dictionary<string, double>
        {
            ["reward"] = rawScores.Average(),
            ["score"] = processed.Average(),
            ["kl"] = host[0],
            ["response_length"] = host[1],
            ["response_tokens"] = rowResponse.Sum(r => r.Length),
            ["no_eos_frac"] = missingEos.Count(m => m) / (double)b,
        };
        if (!double.IsNaN(explained))
        {
            stats["explained_variance"] = explained;
        }

        var experience = new PpoExperience
        {
            InputIds = inputIds, AttentionMask = attention, PositionIds = positions, PromptLength = promptLength,
            ResponseMask = responseMask, OldLogProbs = oldLogProbs, ReferenceLogProbs = refLogProbs, Values = values,
            Advantages = advantages, Returns = returns,
        };
        return (experience, stats, new PpoRolloutSummary(step + 1, rowPromptText, rowText, rawScores));
    }

    private (double Loss, double GradNorm, Dictionary<string, double> Stats) Update(
        PpoExperience experience, long step, OptimizerStepper policyStepper, OptimizerStepper? criticStepper, PolicyValueHead? valueHead)
    {
        var o = Options;
        long b = experience.Count;
        long mini = o.MiniBatchSize ?? b;
        var device = experience.InputIds.device;
        var sums = zeros(6, dtype: ScalarType.Float32, device: device); // policy loss, clip frac, approx kl, entropy, value loss, value clip
        Tensor gradNorm = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device);
        int updates = 0;
        _policy.train();
        _critic?.train();
        valueHead?.train();
        for (int epoch = 0; epoch < o.PpoEpochs; epoch++)
        {
            using var generator = Determinism.CreateGenerator(o.Seed, CPU, $"ppo-minibatches-{step}-{epoch}");
            var order = randperm(b, generator: generator).to(device);
            for (long first = 0; first < b; first += mini)
            {
                using var scope = NewDisposeScope();
                var rows = order.narrow(0, first, Math.Min(mini, b - first));
                using var batch = experience.Select(rows);
                var (logProbs, entropy, headValues) = ResponseLogProbs(_policy, batch.InputIds, batch.AttentionMask, batch.PositionIds,
                    batch.PromptLength, batch.ResponseMask.shape[1], withEntropy: true, valueHead);
                var (policyLoss, clipFraction, approxKl) = PpoLosses.Policy(logProbs, batch.OldLogProbs, batch.Advantages, batch.ResponseMask, o.ClipRange);
                var valueLoss = zeros(Array.Empty<long>(), device: device);
                var valueClip = zeros(Array.Empty<long>(), device: device);
                Tensor norm;
                if (headValues is not null && criticStepper is not null)
                {
                    // Shared trunk: one backward through the trunk for both objectives, then each optimizer's step.
                    (valueLoss, valueClip) = PpoLosses.Value(headValues, batch.Values!, batch.Returns!, batch.ResponseMask, o.ValueClipRange);
                    policyStepper.Backward(policyLoss + (o.ValueLossCoefficient * valueLoss), 1);
                    norm = policyStepper.Step();
                    criticStepper.Step();
                }
                else
                {
                    policyStepper.Backward(policyLoss, 1);
                    norm = policyStepper.Step();
                }

                if (_critic is not null && criticStepper is not null)
                {
                    var values = _critic.TokenScores(batch.InputIds, batch.AttentionMask).narrow(1, batch.PromptLength - 1, batch.ResponseMask.shape[1]);
                    (valueLoss, valueClip) = PpoLosses.Value(values, batch.Values!, batch.Returns!, batch.ResponseMask, o.ValueClipRange);
                    criticStepper.Backward(valueLoss, 1);
                    criticStepper.Step();
                }

                sums.add_(stack([policyLoss.detach(), clipFraction, approxKl, MaskedOps.Mean(entropy!, batch.ResponseMask).detach(),
                    valueLoss.detach(), valueClip]));
                gradNorm.copy_(norm);
                updates++;
            }
        }

        var host = (sums / Math.Max(updates, 1)).cpu().data<float>().ToArray();
        var gradNormValue = gradNorm.item<float>();
        sums.Dispose();
        gradNorm.Dispose();
        var stats = new Dictionary<string, double>
        {
            ["policy_loss"] = host[0], ["clip_frac"] = host[1], ["approx_kl"] = host[2], ["entropy"] = host[3],
        };
        if (_critic is not null || valueHead is not null)
        {
            stats["value_loss"] = host[4];
            stats["value_clip_frac"] = host[5];
        }

        return (host[0], gradNormValue, stats);
    }

    /// <summary>
    /// The rollout's sequences: prompts left-padded to the longest, responses right-padded after them, the attention
    /// mask, explicit positions (the count of real tokens before each token, so a left-padded row's positions equal
    /// the row alone's) and the response mask (B, R).
    /// </summary>
    internal static (Tensor InputIds, Tensor AttentionMask, Tensor PositionIds, Tensor ResponseMask) BuildSequences(
        IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> responses, int padId, Device device)
    {
        int b = prompts.Count;
        long promptLength = prompts.Max(p => p.Length), responseLength = responses.Max(r => r.Length);
        long width = promptLength + responseLength;
        var ids = new long[b * width];
        var mask = new long[ids.Length];
        var responseMask = new float[b * responseLength];
        Array.Fill(ids, padId);
        for (int i = 0; i < b; i++)
        {
            var pr = prompts[i];
            var rs = responses[i];
            for (int t = 0; t < pr.Length; t++)
            {
                ids[(i * width) + promptLength - pr.Length + t] = pr[t];
                mask[(i * width) + promptLength - pr.Length + t] = 1;
            }

            for (int t = 0; t < rs.Length; t++)
            {
                ids[(i * width) + promptLength + t] = rs[t];
                mask[(i * width) + promptLength + t] = 1;
                responseMask[(i * responseLength) + t] = 1;
            }
        }

        var attention = tensor(mask, [b, width], device: device);
        var positions = (attention.cumsum(1) - 1).clamp_min(0);
        return (tensor(ids, [b, width], device: device), attention, positions, tensor(responseMask, [b, responseLength], device: device));
    }

    /// <summary>
    /// Log-probabilities (B, R) of the response tokens under <paramref name="model"/>, logits divided by the sampling
    /// temperature, with explicit positions; optionally the per-token entropy (B, R), and with a
    /// <paramref name="valueHead"/> the values (B, R) read from the same hidden states as the logits (one trunk pass).
    /// </summary>
    internal (Tensor LogProbs, Tensor? Entropy, Tensor? Values) ResponseLogProbs(
        LlamaForCausalLM model, Tensor inputIds, Tensor attentionMask, Tensor positionIds, long promptLength, long responseLength, bool withEntropy,
        PolicyValueHead? valueHead = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Model.forward(inputIds, attentionMask, positionIds).narrow(1, promptLength - 1, responseLength); // (B, R, C)
        var logits = model.Project(hidden) / Options.Temperature;                                    // (B, R, V)
        var logSoftmax = logits.log_softmax(-1);
        var targets = inputIds.narrow(1, promptLength, responseLength);
        var logProbs = logSoftmax.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        Tensor? entropy = withEntropy ? -(logSoftmax.exp() * logSoftmax).sum(-1) : null;
        var values = valueHead?.forward(hidden);                                                    // (B, R)
        return (logProbs.MoveToOuterDisposeScope(), entropy?.MoveToOuterDisposeScope(), values?.MoveToOuterDisposeScope());
    }

    private Dictionary<string, string> Settings(OptimizerStepper policy, OptimizerStepper? critic)
    {
        var o = Options;
        var settings = new Dictionary<string, string>(policy.Settings);
        foreach (var (key, value) in critic?.Settings ?? new Dictionary<string, string>())
        {
            settings["critic." + key] = value;
        }

        string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        settings["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture);
        settings["prompt_count"] = _prompts.Count.ToString(CultureInfo.InvariantCulture);
        settings["total_steps"] = TotalSteps.ToString(CultureInfo.InvariantCulture);
        settings["ppo.rollout_batch_size"] = o.RolloutBatchSize.ToString(CultureInfo.InvariantCulture);
        settings["ppo.samples_per_prompt"] = o.SamplesPerPrompt.ToString(CultureInfo.InvariantCulture);
        settings["ppo.epochs"] = o.PpoEpochs.ToString(CultureInfo.InvariantCulture);
        settings["ppo.mini_batch_size"] = (o.MiniBatchSize ?? o.RolloutBatchSize * o.SamplesPerPrompt).ToString(CultureInfo.InvariantCulture);
        settings["ppo.clip_range"] = S(o.ClipRange);
        settings["ppo.value_clip_range"] = S(o.ValueClipRange);
        settings["ppo.advantage_estimator"] = o.AdvantageEstimator.ToString() ?? o.AdvantageEstimator.GetType().Name;
        settings["ppo.kl_estimator"] = o.KlEstimator.ToString();
        settings["ppo.temperature"] = S(o.Temperature);
        settings["ppo.max_new_tokens"] = o.MaxNewTokens.ToString(CultureInfo.InvariantCulture);
        if (o.CriticMode == CriticMode.SharedTrunk)
        {
            // Recorded only for the shared trunk, so checkpoints written before the mode existed still resume.
            settings["ppo.critic_mode"] = o.CriticMode.ToString();
            settings["ppo.value_loss_coefficient"] = S(o.ValueLossCoefficient);
        }

        return settings;
    }

    private static long Trainable(nn.Module module) => module.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
}
