using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;

namespace Almost.Rlhf.Ppo;

/// <summary>
/// Options of <see cref="PpoTrainer"/>: the shared <see cref="TrainingOptions"/> (learning rate and schedule of the
/// policy, Adam settings, clipping, logging, checkpoints, seed; one "step" is one rollout + update iteration) plus the
/// PPO settings below. Defaults follow OpenRLHF and "The N+ Implementation Details of RLHF with PPO" unless noted.
/// </summary>
public sealed record PpoTrainingOptions : TrainingOptions
{
    /// <summary>Prompts per rollout. Default 16.</summary>
    public int RolloutBatchSize { get; init; } = 16;

    /// <summary>Samples per prompt. Default 1; group-relative advantages (<see cref="GroupAdvantageEstimator"/>) need ≥ 2.</summary>
    public int SamplesPerPrompt { get; init; } = 1;

    /// <summary>Passes of PPO updates over each rollout. Default 2.</summary>
    public int PpoEpochs { get; init; } = 2;

    /// <summary>Sequences per PPO minibatch; null = the whole rollout in one minibatch. Must divide the rollout's sequences.</summary>
    public int? MiniBatchSize { get; init; }

    /// <summary>Policy ratio clip ε. Default 0.2.</summary>
    public double ClipRange { get; init; } = 0.2;

    /// <summary>Value clip ε_v around the rollout-time values; 0 disables. Default 0.2.</summary>
    public double ValueClipRange { get; init; } = 0.2;

    /// <summary>Learning rate of the critic; null = <see cref="TrainingOptions.LearningRate"/> (OpenRLHF uses a larger one for the critic).</summary>
    public double? CriticLearningRate { get; init; }

    /// <summary>How advantages are estimated: GAE with the critic (default, γ 1, λ 0.95) or critic-free group baselines.</summary>
    public IAdvantageEstimator AdvantageEstimator { get; init; } = new GaeAdvantageEstimator();

    /// <summary>
    /// Where the values come from: a <see cref="CriticMode.Separate"/> value model passed to the trainer, a
    /// <see cref="CriticMode.SharedTrunk"/> value head on the policy (one trunk in memory), or
    /// <see cref="CriticMode.None"/>. Default: <see cref="CriticMode.Separate"/> when
    /// <see cref="AdvantageEstimator"/> uses a critic (GAE), <see cref="CriticMode.None"/> when it does not.
    /// </summary>
    public CriticMode CriticMode
    {
        get => _criticMode ?? (AdvantageEstimator is { UsesCritic: false } ? CriticMode.None : CriticMode.Separate);
        init => _criticMode = value;
    }

    private readonly CriticMode? _criticMode;

    /// <summary>
    /// Weight of the value loss in the shared-trunk loss <c>policy_loss + c · value_loss</c>
    /// (<see cref="CriticMode.SharedTrunk"/> only; a separate critic has its own optimizer). Default 0.1, TRL's
    /// <c>vf_coef</c> for its shared-trunk PPO: the value loss is larger than the policy loss and would otherwise
    /// dominate the trunk's gradient.
    /// </summary>
    public double ValueLossCoefficient { get; init; } = 0.1;

    /// <summary>Normalise advantages over the rollout's valid tokens (mean 0, variance 1). Default true.</summary>
    public bool WhitenAdvantages { get; init; } = true;

    /// <summary>Initial (or fixed) KL coefficient β. Default 0.05.</summary>
    public double KlCoefficient { get; init; } = 0.05;

    /// <summary>Target KL per sequence of the adaptive controller; null keeps β fixed. Default null.</summary>
    public double? KlTarget { get; init; }

    /// <summary>Horizon (sequences) of the adaptive controller. Default 10,000 (Ziegler et al.).</summary>
    public double KlHorizon { get; init; } = 10_000;

    /// <summary>Per-token KL estimator in the reward. Default k1 (the unbiased log-ratio); k3 never goes negative.</summary>
    public KlEstimator KlEstimator { get; init; } = KlEstimator.K1;

    /// <summary>
    /// Stop training (saving the policy reached so far) once a rollout's mean KL per sequence to the reference passes
    /// this bound; null for no bound. Default null.
    /// </summary>
    public double? MaxKl { get; init; }

    /// <summary>
    /// Normalise reward-model scores as <c>(s − mean) / std</c> with these statistics (the reward model's training-set
    /// mean/std, e.g. <c>LlamaForSequenceClassification.Normalization</c>); null leaves scores as they come. Default null.
    /// </summary>
    public RewardNormalization? RewardNormalization { get; init; }

    /// <summary>Clip (normalised) scores to ±this; 0 or less disables. Default 5.</summary>
    public double RewardClip { get; init; } = 5;

    /// <summary>
    /// Subtracted from the score of a response that neither produced EOS nor a stop string (it hit
    /// <see cref="MaxNewTokens"/>); null for none. Default 1.
    /// </summary>
    public double? MissingEosPenalty { get; init; } = 1;

    /// <summary>Sampling temperature of rollouts; every log-probability pass divides the logits by it too. Default 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Top-p of rollouts. Default 1 (PPO's ratio assumes the full distribution).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Most new tokens per response. Default 48.</summary>
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>Strings that end a response (generation stops after them; they count as ending well). Default: the transcript's next turn.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = AlmostTranscript.StopStrings;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(RolloutBatchSize >= 1, nameof(RolloutBatchSize), "must be >= 1");
        Require(SamplesPerPrompt >= 1, nameof(SamplesPerPrompt), "must be >= 1");
        Require(PpoEpochs >= 1, nameof(PpoEpochs), "must be >= 1");
        Require(MiniBatchSize is null or >= 1, nameof(MiniBatchSize), "must be >= 1 when set");
        Require(MiniBatchSize is null || (RolloutBatchSize * SamplesPerPrompt) % MiniBatchSize == 0, nameof(MiniBatchSize),
            $"must divide the rollout's {RolloutBatchSize * SamplesPerPrompt} sequences (RolloutBatchSize × SamplesPerPrompt)");
        Require(ClipRange > 0, nameof(ClipRange), "must be > 0");
        Require(CriticLearningRate is null or >= 0, nameof(CriticLearningRate), "must be >= 0 when set");
        Require(KlCoefficient >= 0, nameof(KlCoefficient), "must be >= 0");
        Require(KlTarget is null or > 0, nameof(KlTarget), "must be > 0 when set");
        Require(KlHorizon > 0, nameof(KlHorizon), "must be > 0");
        Require(MaxKl is null or > 0, nameof(MaxKl), "must be > 0 when set");
        Require(Temperature > 0, nameof(Temperature), "must be > 0");
        Require(TopP is > 0 and <= 1, nameof(TopP), "must be in (0, 1]");
        Require(MaxNewTokens >= 1, nameof(MaxNewTokens), "must be >= 1");
        Require(AdvantageEstimator is not null, nameof(AdvantageEstimator), "must be set");
        Require(AdvantageEstimator is not GroupAdvantageEstimator || SamplesPerPrompt >= 2, nameof(SamplesPerPrompt),
            "must be >= 2 for group-relative advantages");
        Require(CriticMode is CriticMode.Separate or CriticMode.SharedTrunk or CriticMode.None, nameof(CriticMode), "must be Separate, SharedTrunk or None");
        Require(AdvantageEstimator is null || !AdvantageEstimator.UsesCritic || CriticMode != CriticMode.None, nameof(CriticMode),
            $"must be Separate or SharedTrunk: {AdvantageEstimator?.GetType().Name} needs values");
        Require(AdvantageEstimator is null || AdvantageEstimator.UsesCritic || CriticMode == CriticMode.None, nameof(CriticMode),
            $"must be None: {AdvantageEstimator?.GetType().Name} uses no values, so a critic would never be trained");
        Require(ValueLossCoefficient >= 0 && double.IsFinite(ValueLossCoefficient), nameof(ValueLossCoefficient), "must be finite and >= 0");
        RewardNormalization?.Validate($"{nameof(PpoTrainingOptions)}.{nameof(RewardNormalization)}");
    }
}
