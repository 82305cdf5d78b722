using System.Diagnostics;
using System.Text.Json;
using Almost.Data;
using Almost.IO;

namespace Almost.TinyWorld.Pipeline;

/// <summary>
/// Runs the pipeline's stages so that a rerun skips every finished one: a stage that completes writes
/// <c>stages/{name}.json</c> (its summary and wall time) atomically, and a stage whose marker exists returns the saved
/// summary without running. A stage interrupted before its marker is rerun; the stages themselves resume their JSONL
/// outputs and checkpoints, so little work is lost.
/// </summary>
public sealed class StageRunner(string outputDir, Action<string>? log = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonlDefaults.SerializerOptions) { WriteIndented = true };

    /// <summary>Stages that ran in this process (not skipped), in order.</summary>
    public List<string> Ran { get; } = [];

    /// <summary>Stages skipped because their marker existed.</summary>
    public List<string> Skipped { get; } = [];

    /// <summary>Wall seconds of each stage (from its marker when skipped).</summary>
    public Dictionary<string, double> Seconds { get; } = [];

    /// <summary>Runs <paramref name="stage"/> unless it finished before; returns its summary.</summary>
    /// <typeparam name="T">The summary type (JSON-serialisable).</typeparam>
    /// <param name="name">The stage's name (file-safe).</param>
    /// <param name="stage">The work.</param>
    /// <returns>The summary.</returns>
    public async Task<T> RunAsync<T>(string name, Func<Task<T>> stage)
    {
        var marker = Path.Combine(outputDir, "stages", name + ".json");
        if (File.Exists(marker))
        {
            var saved = JsonSerializer.Deserialize<StageMarker<T>>(File.ReadAllText(marker), Json)
                        ?? throw new InvalidDataException($"{marker}: not a stage marker.");
            Skipped.Add(name);
            Seconds[name] = saved.Seconds;
            log?.Invoke($"{name}: finished earlier ({saved.Seconds:F0} s), skipped");
            return saved.Summary;
        }

        log?.Invoke($"{name}: running");
        var clock = Stopwatch.StartNew();
        var summary = await stage().ConfigureAwait(false);
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        AtomicFile.WriteJson(marker, new StageMarker<T>(summary, clock.Elapsed.TotalSeconds), Json);
        Ran.Add(name);
        Seconds[name] = clock.Elapsed.TotalSeconds;
        log?.Invoke($"{name}: done in {clock.Elapsed.TotalSeconds:F0} s");
        return summary;
    }

    private sealed record StageMarker<T>(T Summary, double Seconds);
}
