namespace Almost.Rlhf.Training;

/// <summary>
/// A model trainer: trains from its options (given at construction), reports progress, writes checkpoints and resumes
/// from the latest one. The causal-LM / SFT, reward-model and PPO trainers implement it.
/// </summary>
/// <typeparam name="TResult">What a finished run returns.</typeparam>
public interface ITrainer<TResult>
{
    /// <summary>
    /// Runs training to the end (the configured epochs or max steps) and saves the final model.
    /// </summary>
    /// <param name="progress">Receives one report per logging step (and one per evaluation); null for none.</param>
    /// <param name="cancellationToken">
    /// Stops training between optimizer steps; the trainer may save a checkpoint first (see
    /// <see cref="TrainingOptions.SaveCheckpointOnCancel"/>), then throws <see cref="OperationCanceledException"/>.
    /// </param>
    /// <returns>The result of the run.</returns>
    Task<TResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>A trainer whose run returns a <see cref="TrainingResult"/>.</summary>
public interface ITrainer : ITrainer<TrainingResult>
{
}
