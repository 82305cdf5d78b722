using Almost.Rlhf.Training;

namespace Almost.Rlhf.Dpo;

/// <summary>Options of <see cref="DpoTrainer"/>: the shared <see cref="TrainingOptions"/> plus TRL's <c>DPOConfig</c> subset below.</summary>
public sealed record DpoTrainingOptions : TrainingOptions
{
    /// <summary>β: how far the policy may move from the reference (larger = closer). Default 0.1, as in TRL.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>The loss. Default <see cref="DpoLossType.Sigmoid"/> (DPO).</summary>
    public DpoLossType Loss { get; init; } = DpoLossType.Sigmoid;

    /// <summary>
    /// Label smoothing ε in [0, 0.5): the assumed share of flipped labels (robust DPO). Default 0. Synthetic comparisons
    /// are noisy; measure whether it helps.
    /// </summary>
    public double LabelSmoothing { get; init; }

    /// <summary>
    /// Longest prompt + completion in tokens; the prompt is cut from the left to fit (the end of the completion is never
    /// cut unless the completion alone is longer). Default null: the model's <c>max_position_embeddings</c>.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(Beta > 0 && double.IsFinite(Beta), nameof(Beta), "must be finite and > 0");
        Require(LabelSmoothing is >= 0 and < 0.5, nameof(LabelSmoothing), "must be in [0, 0.5)");
        Require(MaxLength is null or >= 2, nameof(MaxLength), "must be >= 2 when set");
    }
}
