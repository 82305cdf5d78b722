using System.Text.Json;

namespace Almost.Quickstart;

/// <summary>One metric of a trainer's <c>metrics.jsonl</c> (one JSON object per logging step) as a series over steps.</summary>
internal static class TrainingMetrics
{
    /// <summary>
    /// The values of <paramref name="key"/> by <c>step</c>, in file order. Lines without the key, and values the sink
    /// wrote as strings (<c>"NaN"</c>, <c>"Infinity"</c>), are left out.
    /// </summary>
    /// <param name="path">A <c>metrics.jsonl</c> file.</param>
    /// <param name="key">The metric (e.g. <c>loss</c>, <c>kl</c>).</param>
    /// <returns>The points.</returns>
    /// <exception cref="InvalidDataException">A line is not a JSON object with a numeric <c>step</c> (names the file and line).</exception>
    public static IReadOnlyList<(long Step, double Value)> Read(string path, string key)
    {
        var points = new List<(long, double)>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{number}: expected one JSON object of training metrics per line ({e.Message}).", e);
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("step", out var step) || !step.TryGetInt64(out var stepValue))
                {
                    throw new InvalidDataException($"{path}:{number}: field 'step' missing or not an integer.");
                }

                if (root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number)
                {
                    points.Add((stepValue, value.GetDouble()));
                }
            }
        }

        return points;
    }
}
