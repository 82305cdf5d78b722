using System.Globalization;
using System.Text.Json;
using Almost.Data;
using Almost.IO;

namespace Almost.Rlhf.Training;

/// <summary>
/// The checkpoint folders of a run: <c>{OutputDir}/checkpoint-{step}/</c>, each with the model (Hugging Face layout),
/// <c>optimizer.bin</c>, any other registered parts and <c>trainer_state.json</c>. This class is the folder layout;
/// <see cref="CheckpointManager"/> decides what goes in. A checkpoint is written into <c>checkpoint-{step}.tmp/</c>,
/// <c>trainer_state.json</c> last, and only then renamed; so a folder that is complete by name always has all its
/// files, and a crash mid-write leaves only a <c>.tmp</c> folder, which is ignored and cleaned up.
/// </summary>
public static class TrainingCheckpoints
{
    /// <summary>Name of the trainer-state file, written last (the completion marker).</summary>
    public const string StateFileName = "trainer_state.json";

    /// <summary>Name of the (first) optimizer-state file (TorchSharp's binary <c>save_state_dict</c> format).</summary>
    public const string OptimizerFileName = "optimizer.bin";

    private const string Prefix = "checkpoint-";
    private const string TempSuffix = ".tmp";

    private static readonly JsonSerializerOptions StateJson = new(JsonlDefaults.SerializerOptions) { WriteIndented = true };

    /// <summary>The folder of the checkpoint at <paramref name="step"/> (it may not exist).</summary>
    /// <param name="outputDir">The run's output folder.</param>
    /// <param name="step">Optimizer step.</param>
    /// <returns>The folder path.</returns>
    public static string FolderFor(string outputDir, long step) =>
        Path.Combine(outputDir, Prefix + step.ToString(CultureInfo.InvariantCulture));

    /// <summary>Complete checkpoints (named <c>checkpoint-{step}</c> and holding <c>trainer_state.json</c>), oldest first.</summary>
    /// <param name="outputDir">The run's output folder; missing means none.</param>
    /// <returns>(step, folder) pairs ordered by step.</returns>
    public static IReadOnlyList<(long Step, string Folder)> ListComplete(string outputDir)
    {
        ArgumentNullException.ThrowIfNull(outputDir);
        if (!Directory.Exists(outputDir))
        {
            return [];
        }

        var found = new List<(long, string)>();
        foreach (var folder in Directory.EnumerateDirectories(outputDir, Prefix + "*"))
        {
            var suffix = Path.GetFileName(folder)[Prefix.Length..];
            if (long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var step)
                && File.Exists(Path.Combine(folder, StateFileName)))
            {
                found.Add((step, folder));
            }
        }

        return found.OrderBy(c => c.Item1).ToList();
    }

    /// <summary>The latest complete checkpoint, or null when there is none.</summary>
    /// <param name="outputDir">The run's output folder.</param>
    /// <returns>Its folder, or null.</returns>
    public static string? FindLatest(string outputDir)
    {
        var all = ListComplete(outputDir);
        return all.Count == 0 ? null : all[^1].Folder;
    }

    /// <summary>Reads <c>trainer_state.json</c> of a checkpoint.</summary>
    /// <param name="checkpointFolder">The checkpoint folder.</param>
    /// <returns>The state.</returns>
    /// <exception cref="InvalidDataException">The file is missing fields or is not JSON.</exception>
    public static TrainerState ReadState(string checkpointFolder)
    {
        ArgumentNullException.ThrowIfNull(checkpointFolder);
        var path = Path.Combine(checkpointFolder, StateFileName);
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), StateJson)
                   ?? throw new InvalidDataException($"{path}: expected a JSON object, found null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid trainer state ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Writes the checkpoint of <paramref name="state"/>.GlobalStep: <paramref name="writeContents"/> fills a temporary
    /// folder, then <c>trainer_state.json</c> is written and the folder renamed to <c>checkpoint-{step}</c>
    /// (replacing one of that name).
    /// </summary>
    /// <param name="outputDir">The run's output folder (created when missing).</param>
    /// <param name="state">The state to record.</param>
    /// <param name="writeContents">Writes the model and optimizer files into the folder it is given.</param>
    /// <returns>The checkpoint folder.</returns>
    public static string Save(string outputDir, TrainerState state, Action<string> writeContents)
    {
        ArgumentNullException.ThrowIfNull(outputDir);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(writeContents);
        var final = FolderFor(outputDir, state.GlobalStep);
        var temp = final + TempSuffix;
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        Directory.CreateDirectory(temp);
        try
        {
            writeContents(temp);
            AtomicFile.WriteJson(Path.Combine(temp, StateFileName), state, StateJson);
            if (Directory.Exists(final))
            {
                DeleteCheckpoint(final);
            }

            Directory.Move(temp, final);
        }
        catch
        {
            TryDeleteFolder(temp);
            throw;
        }

        return final;
    }

    /// <summary>Deletes the oldest complete checkpoints until at most <paramref name="limit"/> remain; null keeps all.</summary>
    /// <param name="outputDir">The run's output folder.</param>
    /// <param name="limit">How many to keep.</param>
    public static void Prune(string outputDir, int? limit)
    {
        if (limit is not { } keep)
        {
            return;
        }

        var all = ListComplete(outputDir);
        for (var i = 0; i < all.Count - keep; i++)
        {
            DeleteCheckpoint(all[i].Folder);
        }
    }

    /// <summary>
    /// Deletes one checkpoint so that a kill at any moment leaves nothing that looks complete: the folder is first
    /// renamed (atomically) to a <c>.tmp</c> name, which no listing counts and the next resume deletes, and only then
    /// removed file by file. A recursive delete in place could stop with <c>trainer_state.json</c> still there and
    /// the weights gone.
    /// </summary>
    private static void DeleteCheckpoint(string folder)
    {
        var doomed = folder + ".deleting-" + Guid.NewGuid().ToString("N") + TempSuffix;
        Directory.Move(folder, doomed);
        BeforeRecursiveDelete?.Invoke(doomed);
        Directory.Delete(doomed, recursive: true);
    }

    /// <summary>Test hook: runs between the rename and the file-by-file delete of a checkpoint (a kill can land there).</summary>
    internal static Action<string>? BeforeRecursiveDelete { get; set; }

    /// <summary>Deletes half-written <c>checkpoint-*.tmp</c> folders left by a crash.</summary>
    /// <param name="outputDir">The run's output folder.</param>
    public static void DeleteIncomplete(string outputDir)
    {
        ArgumentNullException.ThrowIfNull(outputDir);
        if (!Directory.Exists(outputDir))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(outputDir, Prefix + "*" + TempSuffix))
        {
            TryDeleteFolder(folder);
        }
    }

    /// <summary>Deletes every checkpoint of an earlier run (complete or not), so a fresh run never resumes from them later.</summary>
    /// <param name="outputDir">The run's output folder.</param>
    internal static void DeleteAll(string outputDir)
    {
        DeleteIncomplete(outputDir);
        foreach (var (_, folder) in ListComplete(outputDir))
        {
            DeleteCheckpoint(folder);
        }
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover .tmp folder is ignored and removed by the next run.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
