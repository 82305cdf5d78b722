namespace Almost.Rlhf.Training;

/// <summary>
/// Options every trainer shares (the Hugging Face <c>TrainingArguments</c> subset that matters here). Each trainer has
/// its own options record deriving from this one. Defaults follow Hugging Face / TRL unless noted; the reason is given
/// with each. Call <see cref="Validate"/> to check them (trainers do so on construction).
/// </summary>
public record TrainingOptions
{
    /// <summary>
    /// Folder for checkpoints (<c>checkpoint-{step}/</c>), <c>metrics.jsonl</c> and the final model. Required: there
    /// is no sensible default, and writing into the working directory by accident is worse than an error.
    /// </summary>
    public required string OutputDir { get; init; }

    /// <summary>
    /// Peak learning rate (reached at the end of warm-up). Default 5e-5, Hugging Face's default, right for
    /// fine-tuning a pretrained model; pretraining a small model from scratch wants much more (1e-3 to 3e-3).
    /// </summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary>
    /// Decoupled (AdamW) weight decay applied to the weight matrices and embeddings; biases and norm weights are
    /// never decayed. Default 0 as in Hugging Face, so fine-tuning does not pull weights toward zero unasked; 0.1 is
    /// the usual value for pretraining.
    /// </summary>
    public double WeightDecay { get; init; }

    /// <summary>Adam β1 (momentum of the gradient mean). Default 0.9, the value everyone uses.</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>
    /// Adam β2 (momentum of the squared gradient). Default 0.999 as in PyTorch and Hugging Face; 0.95 is common for
    /// pretraining, where it reacts faster to loss spikes.
    /// </summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>Adam ε (added to the denominator). Default 1e-8 as in PyTorch.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>
    /// Fraction of the total optimizer steps spent warming the learning rate up linearly from near zero to the peak.
    /// Default 0.03: the ALMoST reward-model recipe (3% warm-up), and a safe choice for Adam, whose early second-moment
    /// estimates are noisy. Ignored when <see cref="WarmupSteps"/> is set.
    /// </summary>
    public double WarmupRatio { get; init; } = 0.03;

    /// <summary>Warm-up length in optimizer steps; overrides <see cref="WarmupRatio"/> when set. Default null.</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>
    /// Learning-rate shape after warm-up. Default <see cref="LrSchedulerType.Cosine"/>: the ALMoST recipe and the
    /// usual choice for LLaMA-style models (Hugging Face defaults to linear).
    /// </summary>
    public LrSchedulerType LrScheduler { get; init; } = LrSchedulerType.Cosine;

    /// <summary>
    /// The learning rate the decay ends at, as a fraction of the peak. Default 0 (Hugging Face's cosine and linear
    /// schedules decay to zero); pretraining recipes often use 0.1.
    /// </summary>
    public double MinLearningRateRatio { get; init; }

    /// <summary>
    /// Clip the global L2 norm of the gradients to this value before each optimizer step; 0 or less disables
    /// clipping. Default 1.0 as in Hugging Face: it tames the occasional spike without changing ordinary steps.
    /// </summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>
    /// Micro-batches whose gradients are summed before each optimizer step. Default 1. The loss is normalised by the
    /// loss units (for language models: real target tokens) of all accumulated micro-batches together, so
    /// <c>batch 4 × accumulation 1</c> and <c>batch 2 × accumulation 2</c> take the same step.
    /// </summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Examples per micro-batch (per forward/backward pass). Default 8, Hugging Face's default.</summary>
    public int PerDeviceBatchSize { get; init; } = 8;

    /// <summary>Passes over the training data. Default 1 (ALMoST trains its reward model for one epoch).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>
    /// Total optimizer steps; when set it overrides <see cref="Epochs"/> (the data is repeated, reshuffled per epoch,
    /// as often as needed). Default null: <see cref="Epochs"/> decides.
    /// </summary>
    public int? MaxSteps { get; init; }

    /// <summary>
    /// Report progress, log and append a line to <c>metrics.jsonl</c> every this many optimizer steps. This is also
    /// the only point where the training loss is copied from the device to the host. Default 10 (Hugging Face uses
    /// 500, which is too coarse for the short runs this SDK does).
    /// </summary>
    public int LoggingSteps { get; init; } = 10;

    /// <summary>
    /// Evaluate on the evaluation set every this many optimizer steps, when there is one; 0 evaluates only at the
    /// end of training. Default 0: evaluation costs a pass over the evaluation data.
    /// </summary>
    public int EvalSteps { get; init; }

    /// <summary>
    /// Write a checkpoint every this many optimizer steps; 0 writes none (the final model is still saved). Default
    /// 500, as in Hugging Face.
    /// </summary>
    public int SaveSteps { get; init; } = 500;

    /// <summary>
    /// Keep at most this many checkpoints, deleting the oldest; null keeps all. Default null, as in Hugging Face.
    /// </summary>
    public int? SaveTotalLimit { get; init; }

    /// <summary>
    /// Seed of everything random in training (the data order of each epoch). Default 42, as in Hugging Face. The
    /// model's initialisation has its own seed (<c>ModelOptions.Seed</c>).
    /// </summary>
    public long Seed { get; init; } = 42;

    /// <summary>
    /// Continue from the latest complete checkpoint in <see cref="OutputDir"/>, if there is one (otherwise start
    /// fresh). Resuming restores weights, optimizer state, step and data position, so the run continues exactly as if
    /// it had not stopped. Default false.
    /// </summary>
    public bool ResumeFromCheckpoint { get; init; }

    /// <summary>
    /// When training is cancelled, write a checkpoint of the last completed step before stopping, so the run can
    /// resume from there. Default true: cancelling should not lose work.
    /// </summary>
    public bool SaveCheckpointOnCancel { get; init; } = true;

    /// <summary>
    /// Resume even when a recorded setting differs from this run's (learning rate, schedule, warm-up, betas, ε, weight
    /// decay, clipping, batch shape, seed, data size). Default false: a resumed run is meant to continue the same run
    /// exactly, and a silently changed hyperparameter makes the result neither the old run nor a new one. Set it to
    /// continue on purpose with new settings (the log names each change).
    /// </summary>
    public bool AllowChangedSettingsOnResume { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that is out of range.</summary>
    public virtual void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), "must name a folder");
        Require(LearningRate >= 0 && double.IsFinite(LearningRate), nameof(LearningRate), "must be finite and >= 0");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), "must be finite and >= 0");
        Require(AdamBeta1 is >= 0 and < 1, nameof(AdamBeta1), "must be in [0, 1)");
        Require(AdamBeta2 is >= 0 and < 1, nameof(AdamBeta2), "must be in [0, 1)");
        Require(AdamEpsilon >= 0, nameof(AdamEpsilon), "must be >= 0");
        Require(WarmupRatio is >= 0 and <= 1, nameof(WarmupRatio), "must be in [0, 1]");
        Require(WarmupSteps is null or >= 0, nameof(WarmupSteps), "must be >= 0");
        Require(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), "must be in [0, 1]");
        Require(!double.IsNaN(MaxGradNorm), nameof(MaxGradNorm), "must be a number");
        Require(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), "must be >= 1");
        Require(PerDeviceBatchSize >= 1, nameof(PerDeviceBatchSize), "must be >= 1");
        Require(Epochs >= 1, nameof(Epochs), "must be >= 1");
        Require(MaxSteps is null or >= 1, nameof(MaxSteps), "must be >= 1 when set");
        Require(LoggingSteps >= 1, nameof(LoggingSteps), "must be >= 1");
        Require(EvalSteps >= 0, nameof(EvalSteps), "must be >= 0");
        Require(SaveSteps >= 0, nameof(SaveSteps), "must be >= 0");
        Require(SaveTotalLimit is null or >= 1, nameof(SaveTotalLimit), "must be >= 1 when set");
    }

    /// <summary>Throws an <see cref="ArgumentException"/> for <paramref name="name"/> unless <paramref name="condition"/> holds.</summary>
    /// <param name="condition">What must be true.</param>
    /// <param name="name">The option's name.</param>
    /// <param name="requirement">What the option must satisfy, in words.</param>
    protected void Require(bool condition, string name, string requirement)
    {
        if (!condition)
        {
            var value = GetType().GetProperty(name)?.GetValue(this);
            throw new ArgumentException($"{GetType().Name}.{name} {requirement} (got {value ?? "null"}).", name);
        }
    }
}
