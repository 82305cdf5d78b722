namespace Almost.Rlhf.Training;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: where the run was, which parts the checkpoint holds, and the settings
/// that must not change on resume. Written last, so its presence marks a complete checkpoint.
/// </summary>
/// <remarks>
/// The supervised loop needs no random-number state: the data order of epoch <c>e</c> is a permutation drawn from a
/// generator seeded by <c>DeriveSeed(Seed, "epoch-{e}")</c>, so the position in the data is just (epoch, step in
/// epoch), and the LLaMA models here have no dropout. Loops that draw random numbers while they run (PPO rollouts)
/// register their generators as checkpoint parts.
/// </remarks>
public sealed record TrainerState
{
    /// <summary>Version of this file's layout.</summary>
    public int FormatVersion { get; init; } = 2;

    /// <summary>Optimizer steps completed.</summary>
    public required long GlobalStep { get; init; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public required long TotalSteps { get; init; }

    /// <summary>The training seed.</summary>
    public required long Seed { get; init; }

    /// <summary>0-based epoch of the next step (supervised loops).</summary>
    public long Epoch { get; init; }

    /// <summary>Optimizer steps of that epoch already taken (supervised loops).</summary>
    public long StepInEpoch { get; init; }

    /// <summary>Index of the next micro-batch within the epoch's shuffled order (supervised loops).</summary>
    public long MicroBatchInEpoch { get; init; }

    /// <summary>Learning rate of the last step taken.</summary>
    public double LearningRate { get; init; }

    /// <summary>Last logged training loss, if any.</summary>
    public double? Loss { get; init; }

    /// <summary>Last evaluation loss, if any.</summary>
    public double? EvalLoss { get; init; }

    /// <summary>Names of the <see cref="ICheckpointPart"/>s saved in this checkpoint, in the order they were written.</summary>
    public IReadOnlyList<string> Parts { get; init; } = [];

    /// <summary>
    /// Settings the run was made with that a resume must match (data order, batch shape, optimizer), as invariant
    /// strings: a resumed run with another value is refused with the setting named (see
    /// <see cref="TrainingOptions.AllowChangedSettingsOnResume"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}
