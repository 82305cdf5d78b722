using System.Text.Json;

namespace Almost.Data;

/// <summary>What <see cref="JsonlResume"/> found (and fixed) in an output file.</summary>
/// <param name="CompleteRecords">Complete records in the file after the repair.</param>
/// <param name="CompletedIds">Ids of those records (records without an id are counted but not listed).</param>
/// <param name="TruncatedBytes">Bytes removed from the end of the file: a torn or unparseable final line; 0 when none.</param>
/// <param name="RepairedLineNumber">1-based number of the final line that was removed or completed; null when the file was intact.</param>
/// <param name="AddedNewline">True when a complete final record lacked its newline and one was appended.</param>
/// <param name="RemovedLineProblem">Why the removed final line was not a record (the parser's message); null when none was removed or it was only whitespace.</param>
public sealed record JsonlResumeState(
    int CompleteRecords,
    IReadOnlySet<string> CompletedIds,
    long TruncatedBytes,
    long? RepairedLineNumber,
    bool AddedNewline,
    string? RemovedLineProblem = null)
{
    /// <summary>True when the file had to be changed.</summary>
    public bool WasRepaired => TruncatedBytes > 0 || AddedNewline;

    /// <summary>
    /// Exactly what the repair did, for the log: which line, how many bytes, and why; "intact" when nothing changed.
    /// </summary>
    public string Describe() =>
        AddedNewline ? $"final line {RepairedLineNumber} was a complete record without its newline: appended the newline, removed nothing ({CompleteRecords} records kept)"
        : TruncatedBytes > 0 && RemovedLineProblem is not null
            ? $"removed the torn final line {RepairedLineNumber} ({TruncatedBytes} bytes; not a complete record: {RemovedLineProblem}); {CompleteRecords} complete records kept"
        : TruncatedBytes > 0 ? $"removed {TruncatedBytes} bytes of whitespace without a newline after the last record (line {RepairedLineNumber}); {CompleteRecords} complete records kept"
        : $"intact ({CompleteRecords} complete records)";
}

/// <summary>
/// Prepares an append-only JSONL output file for a resumed run. A crash while appending (see <see cref="JsonlWriter"/>)
/// can leave only a torn final line; this class repairs exactly that and reports which records are complete:
/// <list type="bullet">
/// <item>a final line that does not parse as a record (with or without a newline) is truncated away, back to the end
/// of the last complete line;</item>
/// <item>a final line that parses but lacks its newline is kept and given one;</item>
/// <item>a malformed line <em>before</em> the last one is not a crash artefact: it throws
/// <see cref="JsonlFormatException"/> and nothing is changed.</item>
/// </list>
/// A complete record is never removed or duplicated. A missing file is an empty, intact output.
/// </summary>
public static class JsonlResume
{
    /// <summary>Repairs <paramref name="path"/>, checking each line is a JSON object; ids come from an <c>"id"</c> string or number field.</summary>
    /// <param name="path">The output file; may not exist yet.</param>
    /// <param name="cancellationToken">Stops the scan (before any change is made).</param>
    /// <returns>The complete records and what was repaired.</returns>
    /// <exception cref="JsonlFormatException">A malformed line before the final one.</exception>
    public static Task<JsonlResumeState> RepairAsync(string path, CancellationToken cancellationToken = default) =>
        RepairAsync<Dictionary<string, JsonElement>>(path, IdField, null, cancellationToken);

    /// <summary>Repairs <paramref name="path"/>, checking each line is a valid <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The record type of the output, e.g. <see cref="Almost.Generation.CompletionRecord"/>.</typeparam>
    /// <param name="path">The output file; may not exist yet.</param>
    /// <param name="idSelector">The id of a record, or null when it has none.</param>
    /// <param name="serializerOptions">Serializer settings; null uses <see cref="JsonlDefaults.SerializerOptions"/>.</param>
    /// <param name="cancellationToken">Stops the scan (before any change is made).</param>
    /// <returns>The complete records and what was repaired.</returns>
    /// <exception cref="JsonlFormatException">A malformed line before the final one.</exception>
    public static async Task<JsonlResumeState> RepairAsync<T>(
        string path,
        Func<T, string?> idSelector,
        JsonSerializerOptions? serializerOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(idSelector);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        JsonlLines.RequireNotFolder(path);
        if (!File.Exists(path))
        {
            return new JsonlResumeState(0, ids, 0, null, false);
        }

        var typeInfo = JsonlDefaults.TypeInfo<T>(serializerOptions);
        int count = 0;
        long goodEnd = 0, fileLength, lastLineNumber = 0;
        bool needsNewline = false;
        (long Start, long LineNumber, string Error)? bad = null;

        await using (var stream = JsonlLines.OpenRead(path))
        {
            await foreach (var line in JsonlLines.ReadAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                lastLineNumber = line.LineNumber;
                bool blank = JsonlLines.IsBlank(line.Content.Span);
                if (bad is { } earlier)
                {
                    if (blank)
                    {
                        continue;
                    }

                    throw new JsonlFormatException(path, earlier.LineNumber,
                        $"{earlier.Error}; only the final line of an output file can be repaired (a crash tears nothing else)");
                }

                if (blank)
                {
                    if (line.HasNewline)
                    {
                        goodEnd = line.End;
                    }

                    continue;
                }

                if (JsonlRecordParser.TryParse(line.Content, typeInfo, out var record, out var error))
                {
                    count++;
                    if (idSelector(record) is { } id)
                    {
                        ids.Add(id);
                    }

                    goodEnd = line.End;
                    needsNewline = !line.HasNewline;
                }
                else
                {
                    bad = (line.Start, line.LineNumber, error!);
                }
            }

            fileLength = stream.Length;
        }

        if (needsNewline)
        {
            await using var append = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1);
            await append.WriteAsync("\n"u8.ToArray(), CancellationToken.None).ConfigureAwait(false);
            append.Flush(flushToDisk: true);
            return new JsonlResumeState(count, ids, 0, lastLineNumber, true);
        }

        if (goodEnd < fileLength)
        {
            await using var truncate = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1);
            truncate.SetLength(goodEnd);
            truncate.Flush(flushToDisk: true);
            return new JsonlResumeState(count, ids, fileLength - goodEnd, bad?.LineNumber ?? lastLineNumber, false, bad?.Error);
        }

        return new JsonlResumeState(count, ids, 0, null, false);
    }

    private static string? IdField(Dictionary<string, JsonElement> record) =>
        record.TryGetValue("id", out var id)
            ? id.ValueKind switch
            {
                JsonValueKind.String => id.GetString(),
                JsonValueKind.Number => id.GetRawText(),
                _ => null,
            }
            : null;
}
