namespace Almost.Rlhf.Training;

/// <summary>The shape of the learning rate after warm-up.</summary>
public enum LrSchedulerType
{
    /// <summary>Half-cosine from the peak down to <see cref="TrainingOptions.MinLearningRateRatio"/> × peak at the last step.</summary>
    Cosine,

    /// <summary>Straight line from the peak down to <see cref="TrainingOptions.MinLearningRateRatio"/> × peak at the last step.</summary>
    Linear,

    /// <summary>The peak learning rate for every step after warm-up.</summary>
    Constant,
}
