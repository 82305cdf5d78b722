using Microsoft.Extensions.Logging;

namespace Almost.Rlhf.Training;

/// <summary>
/// Saves and restores every registered piece of training state (<see cref="ICheckpointPart"/>: models, optimizers,
/// random generators, counters, a KL controller) as one atomic checkpoint folder (<see cref="TrainingCheckpoints"/>),
/// and resumes from the newest intact one. Every training loop here composes one.
/// </summary>
/// <remarks>
/// A checkpoint is written into <c>checkpoint-{step}.tmp/</c>, parts in registration order, then
/// <c>trainer_state.json</c> (the completion marker, listing the parts), then renamed; so a crash leaves only a
/// <c>.tmp</c> folder, which is ignored and deleted. On resume, a checkpoint that lacks a registered part, or whose
/// files fail to load, is reported in the log with the reason and the next older complete checkpoint is tried.
/// </remarks>
public sealed class CheckpointManager
{
    private readonly List<(string Name, ICheckpointPart Part)> _parts = [];
    private readonly ILogger _logger;

    /// <summary>Creates a manager for the checkpoints under <paramref name="outputDir"/>; nothing is written yet.</summary>
    /// <param name="outputDir">The run's output folder.</param>
    /// <param name="logger">Receives a line per save, resume and skipped checkpoint.</param>
    public CheckpointManager(string outputDir, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDir);
        ArgumentNullException.ThrowIfNull(logger);
        OutputDir = outputDir;
        _logger = logger;
    }

    /// <summary>The run's output folder.</summary>
    public string OutputDir { get; }

    /// <summary>Names of the registered parts, in save order.</summary>
    public IReadOnlyList<string> PartNames => _parts.Select(p => p.Name).ToArray();

    /// <summary>Adds a part to every checkpoint from now on.</summary>
    /// <param name="name">A unique name (recorded in <c>trainer_state.json</c>), e.g. <c>model</c>, <c>optimizer</c>, <c>rollout_rng</c>.</param>
    /// <param name="part">The state.</param>
    /// <exception cref="ArgumentException">The name is taken.</exception>
    public void Register(string name, ICheckpointPart part)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(part);
        if (_parts.Any(p => p.Name == name))
        {
            throw new ArgumentException($"A checkpoint part named '{name}' is already registered.", nameof(name));
        }

        _parts.Add((name, part));
    }

    /// <summary>Writes the checkpoint of <paramref name="state"/>.GlobalStep with every registered part, then prunes old ones.</summary>
    /// <param name="state">Where the run is; <see cref="TrainerState.Parts"/> is filled in here.</param>
    /// <param name="keepLimit">Keep at most this many complete checkpoints (oldest deleted); null keeps all.</param>
    /// <returns>The checkpoint folder.</returns>
    public string Save(TrainerState state, int? keepLimit)
    {
        ArgumentNullException.ThrowIfNull(state);
        var recorded = state with { Parts = PartNames };
        var folder = TrainingCheckpoints.Save(OutputDir, recorded, temp =>
        {
            foreach (var (_, part) in _parts)
            {
                part.Save(temp);
            }
        });
        TrainingCheckpoints.Prune(OutputDir, keepLimit);
        _logger.LogInformation("Saved checkpoint {Checkpoint}", folder);
        return folder;
    }

    /// <summary>
    /// Restores every registered part from the newest complete checkpoint that loads, after
    /// <paramref name="validate"/> accepted its state; damaged checkpoints are skipped with a warning.
    /// Half-written <c>.tmp</c> folders are deleted first.
    /// </summary>
    /// <param name="validate">
    /// Checks the saved state against this run (throw <see cref="InvalidOperationException"/> for a setting that must
    /// not change: that is not damage, so it stops the resume instead of falling back).
    /// </param>
    /// <returns>The checkpoint's folder and state, or null when there is none to resume from.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="validate"/> refused the newest intact checkpoint.</exception>
    public (string Folder, TrainerState State)? TryResume(Action<TrainerState, string> validate)
    {
        ArgumentNullException.ThrowIfNull(validate);
        TrainingCheckpoints.DeleteIncomplete(OutputDir);
        var candidates = TrainingCheckpoints.ListComplete(OutputDir);
        for (int i = candidates.Count - 1; i >= 0; i--)
        {
            var folder = candidates[i].Folder;
            TrainerState state;
            try
            {
                state = TrainingCheckpoints.ReadState(folder);
                var missing = PartNames.Except(state.Parts).ToArray();
                if (missing.Length > 0)
                {
                    throw new InvalidDataException(
                        $"{Path.Combine(folder, TrainingCheckpoints.StateFileName)}: the checkpoint has no part(s) {string.Join(", ", missing)}; " +
                        $"it holds {(state.Parts.Count == 0 ? "none" : string.Join(", ", state.Parts))}.");
                }
            }
            catch (Exception e) when (IsDamage(e))
            {
                _logger.LogWarning("Skipping damaged checkpoint {Checkpoint}: {Reason}", folder, e.Message);
                continue;
            }

            validate(state, folder);
            try
            {
                foreach (var (_, part) in _parts)
                {
                    part.Load(folder);
                }
            }
            catch (Exception e) when (IsDamage(e))
            {
                // Parts are overwritten whole by an older checkpoint, so a half-applied load is harmless.
                _logger.LogWarning("Skipping damaged checkpoint {Checkpoint}: {Reason}", folder, e.Message);
                continue;
            }

            return (folder, state);
        }

        return null;
    }

    /// <summary>Deletes every checkpoint of an earlier run (complete or not), so a fresh run never resumes from them later.</summary>
    public void DeleteAll() => TrainingCheckpoints.DeleteAll(OutputDir);

    private static bool IsDamage(Exception e) =>
        e is IOException or InvalidDataException or UnauthorizedAccessException or Almost.Checkpoints.CheckpointException
            or System.Text.Json.JsonException or ArgumentException or System.Runtime.InteropServices.ExternalException;
}
