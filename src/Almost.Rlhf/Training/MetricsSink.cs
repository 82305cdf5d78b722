using System.Globalization;
using System.Text;
using System.Text.Json;
using Almost.IO;
using Microsoft.Extensions.Logging;

namespace Almost.Rlhf.Training;

/// <summary>
/// Where a training loop's reports go: one line of <c>metrics.jsonl</c> (open keys: <c>step</c>, <c>epoch</c>,
/// <c>loss</c>, <c>lr</c>, <c>grad_norm</c>, <c>tokens_per_s</c>, then every training metric by name and every
/// evaluation metric as <c>eval_{name}</c>), one structured log line, and one <see cref="IProgress{T}"/> report.
/// </summary>
/// <remarks>
/// Lines are whole, written with one write each and flushed to disk. On resume, lines past the resumed step (and a
/// torn last line) are dropped first, so no step appears twice. Non-finite values are written as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (JSON has no literal for them, and a NaN loss must not vanish).
/// </remarks>
public sealed class MetricsSink : IDisposable
{
    /// <summary>The file name, in the run's output folder.</summary>
    public const string FileName = "metrics.jsonl";

    private readonly FileStream _stream;
    private readonly ILogger _logger;
    private readonly IProgress<TrainingProgress>? _progress;

    private MetricsSink(FileStream stream, ILogger logger, IProgress<TrainingProgress>? progress)
    {
        _stream = stream;
        _logger = logger;
        _progress = progress;
    }

    /// <summary>Keeps only the lines of an earlier run with <c>step</c> &lt;= <paramref name="lastStep"/>, then opens the file for appending.</summary>
    /// <param name="outputDir">The run's output folder (created when missing).</param>
    /// <param name="lastStep">The step the run resumes from (0 for a fresh run: the file starts empty).</param>
    /// <param name="logger">Receives one line per report.</param>
    /// <param name="progress">Receives every report; null for none.</param>
    /// <returns>The sink; dispose it when the run ends.</returns>
    public static MetricsSink Open(string outputDir, long lastStep, ILogger logger, IProgress<TrainingProgress>? progress)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDir);
        ArgumentNullException.ThrowIfNull(logger);
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
        return new MetricsSink(stream, logger, progress);
    }

    /// <summary>Writes <paramref name="report"/> to the file, the log and the progress receiver.</summary>
    /// <param name="report">The report.</param>
    public void Report(TrainingProgress report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", report.Step);
            Number(json, "epoch", report.Epoch);
            Number(json, "loss", report.Loss);
            Number(json, "lr", report.LearningRate);
            Number(json, "grad_norm", report.GradNorm);
            Number(json, "tokens_per_s", report.TokensPerSecond);
            foreach (var (name, value) in report.Metrics)
            {
                Number(json, name, value);
            }

            foreach (var (name, value) in report.EvalMetrics ?? new Dictionary<string, double>())
            {
                Number(json, "eval_" + name, value);
            }

            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        _stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _stream.Flush(flushToDisk: true);

        var extra = string.Join(' ', report.Metrics.Select(m => $"{m.Key} {Format(m.Value)}")
            .Concat((report.EvalMetrics ?? new Dictionary<string, double>()).Select(m => $"eval_{m.Key} {Format(m.Value)}")));
        _logger.LogInformation(
            "Step {Step}/{TotalSteps} loss {Loss:F4} lr {LearningRate:E2} grad_norm {GradNorm:F3} tokens/s {TokensPerSecond:F0} {Metrics}",
            report.Step, report.TotalSteps, report.Loss, report.LearningRate, report.GradNorm, report.TokensPerSecond, extra);
        _progress?.Report(report);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static string Format(double value) => value.ToString("G5", CultureInfo.InvariantCulture);

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
