using System.Text;
using System.Text.Json;
using Almost.Data;
using Almost.IO;

namespace Almost.Rlhf.Training;

/// <summary>
/// <c>metrics.jsonl</c>: whole lines appended with one write each and flushed to disk. On resume, lines past the
/// resumed step (and a torn last line) are dropped first, so no step appears twice.
/// </summary>
internal sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";

    private readonly FileStream _stream;

    private MetricsLog(FileStream stream) => _stream = stream;

    /// <summary>Keeps only the lines with <c>step</c> &lt;= <paramref name="lastStep"/>, then opens the file for appending.</summary>
    public static MetricsLog Open(string outputDir, long lastStep)
    {
        Directory.CreateDirectory(outputDir);
        var path = Path.Combine(outputDir, FileName);
        if (File.Exists(path))
        {
            var kept = new StringBuilder();
            foreach (var line in File.ReadAllText(path).Split('\n'))
            {
                if (StepOf(line) is { } step && step <= lastStep)
                {
                    kept.Append(line).Append('\n');
                }
            }

            AtomicFile.WriteAllText(path, kept.ToString());
        }

        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
        });
        return new MetricsLog(stream);
    }

    public void Append(TrainingMetricsRecord record)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(record, JsonlDefaults.SerializerOptions);
        var bytes = new byte[line.Length + 1];
        line.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        _stream.Write(bytes);
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    private static long? StepOf(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var step) && step.TryGetInt64(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null; // A torn last line from a crash.
        }
    }
}
