using Almost.Rlhf.Training;

namespace Almost.Rlhf.RewardModeling;

/// <summary>
/// Options of <see cref="RewardModelTrainer"/>: the shared <see cref="TrainingOptions"/> (the ALMoST recipe's one epoch,
/// cosine schedule and 3 % warm-up are already its defaults; <see cref="TrainingOptions.PerDeviceBatchSize"/> counts
/// pairs, so a micro-batch runs 2 × that many sequences) plus the below.
/// </summary>
public sealed record RewardModelTrainingOptions : TrainingOptions
{
    /// <summary>
    /// The longest sequence (prompt + response + special tokens); longer ones lose prompt tokens from the left, never
    /// the end of the response. Null: the model's <c>max_position_embeddings</c>. Score with the same value
    /// (<c>RewardModelOptions.MaxLength</c>). Default null.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Prepend the tokenizer's BOS token, as <c>RewardModel</c> does by default. Default true.</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>
    /// λ of the reward-centering term <c>λ (r_c + r_r)²</c> (<see cref="BradleyTerryLoss"/>). Default 0 (off, as TRL);
    /// 0.01 keeps rewards near zero mean, which PPO's reward scale likes.
    /// </summary>
    public double CenterRewardsCoefficient { get; init; }

    /// <summary>
    /// After training, score every training pair's two sides and store their mean and standard deviation in the model
    /// (<c>config.json</c> <c>mean</c> / <c>std</c>) for normalisation. Costs one forward pass over the training set.
    /// Default true.
    /// </summary>
    public bool ComputeNormalization { get; init; } = true;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(MaxLength is null or >= 3, nameof(MaxLength), "must be >= 3 when set (BOS, one token, EOS)");
        Require(CenterRewardsCoefficient >= 0 && double.IsFinite(CenterRewardsCoefficient), nameof(CenterRewardsCoefficient), "must be finite and >= 0");
    }
}
