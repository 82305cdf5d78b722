namespace Almost.Rlhf.Training;

/// <summary>
/// One line of <c>metrics.jsonl</c> (snake_case keys: <c>step</c>, <c>epoch</c>, <c>loss</c>, <c>lr</c>,
/// <c>grad_norm</c>, <c>tokens_per_s</c>, <c>eval_loss</c>); absent values are omitted.
/// </summary>
/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Epoch">Fractional epoch.</param>
/// <param name="Loss">Mean training loss since the previous line.</param>
/// <param name="Lr">Learning rate of the last step.</param>
/// <param name="GradNorm">Gradient norm of the last step, before clipping.</param>
/// <param name="TokensPerS">Real input tokens per second since the previous line.</param>
/// <param name="EvalLoss">Evaluation loss, when an evaluation ran at this step.</param>
public sealed record TrainingMetricsRecord(
    long Step,
    double Epoch,
    double? Loss,
    double? Lr,
    double? GradNorm,
    double? TokensPerS,
    double? EvalLoss = null);
