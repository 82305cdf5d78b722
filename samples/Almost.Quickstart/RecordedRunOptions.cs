using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Almost.IO;
using Almost.TinyWorld.Pipeline;

namespace Almost.Quickstart;

/// <summary>
/// The options a main-job output folder was made with (<c>run_options.json</c>). Stage markers say only that a stage
/// finished, not with which settings, so a rerun on the same folder is allowed only with the same options: otherwise
/// it would skip stages made with the old ones and report a mix.
/// </summary>
internal static class RecordedRunOptions
{
    /// <summary>The file in the output folder.</summary>
    public const string FileName = "run_options.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    private static readonly JsonSerializerOptions OneLine = new(Json) { WriteIndented = false };

    /// <summary>
    /// Writes <paramref name="options"/> into a new output folder, or checks them against the ones recorded there (a
    /// folder made before this file existed has none: it is recorded now).
    /// </summary>
    /// <param name="options">This run's options (the output folder itself is not compared: a folder may be moved).</param>
    /// <exception cref="ArgumentException">The folder was made with other options; the message names each difference.</exception>
    public static void CheckOrWrite(PipelineOptions options)
    {
        var path = Path.Combine(options.OutputDir, FileName);
        var now = Snapshot(options);
        if (File.Exists(path))
        {
            var saved = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                        ?? throw new InvalidDataException($"{path}: expected a JSON object of run options.");
            var differences = now.Select(p => p.Key).Union(saved.Select(p => p.Key))
                .Where(key => !JsonNode.DeepEquals(now[key], saved[key]))
                .Select(key => $"{key} = {ValueOf(saved, key)} there, {ValueOf(now, key)} now")
                .ToList();
            if (differences.Count > 0)
            {
                throw new ArgumentException(
                    $"{path}: this output folder was made with other options ({string.Join("; ", differences)}). Its finished stages " +
                    "would be skipped and mixed with this run's: use another --output, or delete the folder to start over.");
            }

            return;
        }

        Directory.CreateDirectory(options.OutputDir);
        AtomicFile.WriteAllText(path, now.ToJsonString(Json) + "\n");
    }

    private static string ValueOf(JsonObject options, string key) =>
        options.ContainsKey(key) ? options[key]?.ToJsonString(OneLine) ?? "null" : "(not recorded)";

    private static JsonObject Snapshot(PipelineOptions options)
    {
        var node = JsonSerializer.SerializeToNode(options, Json)!.AsObject();
        node.Remove("output_dir");
        return node;
    }
}
