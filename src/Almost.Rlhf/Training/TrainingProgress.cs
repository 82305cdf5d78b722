namespace Almost.Rlhf.Training;

/// <summary>One progress report of a training run, sent at each logging step and after each evaluation.</summary>
/// <param name="Step">Optimizer steps done so far (1-based after the first step).</param>
/// <param name="TotalSteps">Optimizer steps the run will take in all.</param>
/// <param name="Epoch">Fractional epoch: completed epochs plus the fraction of the current one (1.5 = half-way through the second).</param>
/// <param name="Loss">Mean training loss over the optimizer steps since the previous report.</param>
/// <param name="LearningRate">Learning rate of the last optimizer step.</param>
/// <param name="GradNorm">Global L2 norm of the gradients of the last optimizer step, before clipping.</param>
/// <param name="TokensPerSecond">Real (non-padding) input tokens processed per second since the previous report.</param>
/// <param name="EvalLoss">Evaluation loss, when an evaluation ran at this step and reported one; otherwise null.</param>
public sealed record TrainingProgress(
    long Step,
    long TotalSteps,
    double Epoch,
    double Loss,
    double LearningRate,
    double GradNorm,
    double TokensPerSecond,
    double? EvalLoss = null)
{
    /// <summary>
    /// The objective's training metrics (reward accuracy, margins, KL, ...), each averaged over the interval since the
    /// previous report; empty when the objective reports none.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Every evaluation metric, when an evaluation ran at this step; otherwise null.</summary>
    public IReadOnlyDictionary<string, double>? EvalMetrics { get; init; }
}
