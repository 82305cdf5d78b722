namespace Almost.Rlhf.Training;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: where the run was, and the settings that must not change on resume.
/// </summary>
/// <remarks>
/// There is no random-number state to save: the data order of epoch <c>e</c> is a permutation drawn from a generator
/// seeded by <c>DeriveSeed(Seed, "epoch-{e}")</c>, so the position in the data is just (epoch, step in epoch), and the
/// LLaMA models here have no dropout or other stochastic layers.
/// </remarks>
public sealed record TrainerState
{
    /// <summary>Version of this file's layout.</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>Optimizer steps completed.</summary>
    public required long GlobalStep { get; init; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public required long TotalSteps { get; init; }

    /// <summary>0-based epoch of the next step.</summary>
    public required long Epoch { get; init; }

    /// <summary>Optimizer steps of that epoch already taken.</summary>
    public required long StepInEpoch { get; init; }

    /// <summary>Index of the next micro-batch within the epoch's shuffled order.</summary>
    public required long MicroBatchInEpoch { get; init; }

    /// <summary>The training seed (decides every epoch's data order).</summary>
    public required long Seed { get; init; }

    /// <summary>Examples per micro-batch.</summary>
    public required int PerDeviceBatchSize { get; init; }

    /// <summary>Micro-batches per optimizer step.</summary>
    public required int GradientAccumulationSteps { get; init; }

    /// <summary>Training examples.</summary>
    public required int TrainExampleCount { get; init; }

    /// <summary>Learning rate of the last step taken.</summary>
    public double LearningRate { get; init; }

    /// <summary>Last logged training loss, if any.</summary>
    public double? Loss { get; init; }

    /// <summary>Last evaluation loss, if any.</summary>
    public double? EvalLoss { get; init; }
}
