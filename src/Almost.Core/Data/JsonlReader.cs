using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Almost.Data;

/// <summary>
/// Streams records from a JSONL file: one JSON object per line, UTF-8, lines ending in <c>\n</c> or <c>\r\n</c>.
/// A UTF-8 BOM at the start is skipped, blank lines are skipped (they still count for line numbers), and a final line
/// without a newline is accepted when it parses. Each line is checked against the record type: a required field that
/// is missing, a value of the wrong JSON type, or a line that is not JSON makes a strict read throw
/// <see cref="JsonlFormatException"/> (<c>data.jsonl line 7: missing required field 'chosen' (expected a string)</c>);
/// a lenient read (<see cref="JsonlReadOptions.Lenient"/>) skips and counts such lines instead.
/// </summary>
/// <remarks>
/// An empty file (or one with only blank lines) is not an error for the streaming <see cref="ReadAsync{T}"/>: it yields
/// no records. <see cref="ReadAllAsync{T}"/> loads a dataset and requires at least one record: it throws
/// <see cref="JsonlFormatException"/> "empty dataset" otherwise.
/// </remarks>
public static class JsonlReader
{
    /// <summary>Streams the records of <paramref name="path"/> in file order.</summary>
    /// <typeparam name="T">The record type, e.g. <see cref="PreferenceRecord"/>.</typeparam>
    /// <param name="path">The JSONL file.</param>
    /// <param name="options">Strict or lenient, serializer settings, logger; null for strict defaults.</param>
    /// <param name="cancellationToken">Stops the read between lines.</param>
    /// <returns>The records.</returns>
    /// <exception cref="JsonlFormatException">A malformed line, in strict mode.</exception>
    public static async IAsyncEnumerable<T> ReadAsync<T>(
        string path,
        JsonlReadOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in ReadEntriesAsync<T>(path, options, cancellationToken).ConfigureAwait(false))
        {
            yield return entry.Record;
        }
    }

    /// <summary>Streams the records of <paramref name="path"/> with their line numbers.</summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <param name="path">The JSONL file.</param>
    /// <param name="options">Strict or lenient, serializer settings, logger; null for strict defaults.</param>
    /// <param name="cancellationToken">Stops the read between lines.</param>
    /// <returns>Each record with its 1-based line number and 0-based record index.</returns>
    /// <exception cref="JsonlFormatException">A malformed line, in strict mode.</exception>
    public static async IAsyncEnumerable<JsonlEntry<T>> ReadEntriesAsync<T>(
        string path,
        JsonlReadOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new JsonlReadOptions();
        var typeInfo = JsonlDefaults.TypeInfo<T>(options.SerializerOptions);
        int index = 0;
        await using var stream = JsonlLines.OpenRead(path);
        await foreach (var line in JsonlLines.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            if (JsonlLines.IsBlank(line.Content.Span))
            {
                continue;
            }

            if (JsonlRecordParser.TryParse(line.Content, typeInfo, out var record, out var error))
            {
                yield return new JsonlEntry<T>(record, line.LineNumber, index++);
                continue;
            }

            if (!options.Lenient)
            {
                throw new JsonlFormatException(path, line.LineNumber, error!);
            }

            var skipped = new JsonlSkippedLine(path, line.LineNumber, error!);
            options.Logger?.LogWarning("Skipped {FilePath} line {LineNumber}: {Reason}", path, line.LineNumber, error);
            options.LineSkipped?.Invoke(skipped);
        }
    }

    /// <summary>Loads a whole dataset into memory. At least one record is required.</summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <param name="path">The JSONL file.</param>
    /// <param name="options">Strict or lenient, serializer settings, logger; null for strict defaults.</param>
    /// <param name="cancellationToken">Stops the read between lines.</param>
    /// <returns>The records and, in lenient mode, the skipped lines.</returns>
    /// <exception cref="JsonlFormatException">A malformed line in strict mode, or no record at all ("empty dataset").</exception>
    public static async Task<JsonlReadResult<T>> ReadAllAsync<T>(
        string path,
        JsonlReadOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new JsonlReadOptions();
        var skipped = new List<JsonlSkippedLine>();
        var userCallback = options.LineSkipped;
        var collecting = options with
        {
            LineSkipped = line =>
            {
                skipped.Add(line);
                userCallback?.Invoke(line);
            },
        };

        var records = new List<T>();
        await foreach (var record in ReadAsync<T>(path, collecting, cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }

        if (records.Count == 0)
        {
            string problem = skipped.Count == 0
                ? "empty dataset (expected at least one JSON object line)"
                : $"empty dataset (no valid record; {skipped.Count} malformed line(s) skipped, first at line {skipped[0].LineNumber}: {skipped[0].Reason})";
            throw new JsonlFormatException(path, 0, problem);
        }

        return new JsonlReadResult<T>(records, skipped);
    }
}
