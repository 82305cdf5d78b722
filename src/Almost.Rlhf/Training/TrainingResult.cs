namespace Almost.Rlhf.Training;

/// <summary>The outcome of a finished training run.</summary>
/// <param name="GlobalStep">Optimizer steps taken in all (including those before a resume).</param>
/// <param name="Epoch">Fractional epoch reached.</param>
/// <param name="TrainingLoss">Training loss of the last logging interval; null when no step was logged in this run.</param>
/// <param name="EvalLoss">Loss of the last evaluation; null when none ran (or it reported no loss).</param>
/// <param name="OutputDir">Folder holding the final model (Hugging Face layout), checkpoints and metrics.</param>
/// <param name="ResumedFromStep">The checkpoint step the run resumed from; null when it started fresh.</param>
/// <param name="Elapsed">Wall-clock time of this run (not counting earlier, interrupted runs).</param>
public sealed record TrainingResult(
    long GlobalStep,
    double Epoch,
    double? TrainingLoss,
    double? EvalLoss,
    string OutputDir,
    long? ResumedFromStep,
    TimeSpan Elapsed)
{
    /// <summary>Training metrics of the last logging interval (see <see cref="TrainingProgress.Metrics"/>).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Metrics of the last evaluation; null when none ran.</summary>
    public IReadOnlyDictionary<string, double>? EvalMetrics { get; init; }
}
