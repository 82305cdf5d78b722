using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Almost.Data;

/// <summary>
/// Appends records to a JSONL file, crash-safely: each record is serialised to one line and written, with its trailing
/// <c>\n</c>, in a single write call on an unbuffered stream; after each <see cref="WriteAsync{T}"/> or
/// <see cref="WriteManyAsync{T}"/> the file is flushed to disk (fsync). A crash can therefore leave at most a torn
/// final line, never a torn record in the middle; <see cref="JsonlResume.RepairAsync{T}"/> removes it before appending
/// again. For whole files that must appear complete or not at all use <see cref="WriteAllAsync{T}"/>.
/// </summary>
public sealed class JsonlWriter : IDisposable, IAsyncDisposable
{
    private readonly FileStream _stream;
    private readonly JsonSerializerOptions _serializerOptions;

    private JsonlWriter(string path, FileStream stream, JsonSerializerOptions serializerOptions)
    {
        FilePath = path;
        _stream = stream;
        _serializerOptions = serializerOptions;
    }

    /// <summary>The file being appended to.</summary>
    public string FilePath { get; }

    /// <summary>Records written through this writer.</summary>
    public long RecordsWritten { get; private set; }

    /// <summary>
    /// Opens <paramref name="path"/> for appending, creating it (and its folder) when missing.
    /// </summary>
    /// <param name="path">The JSONL file.</param>
    /// <param name="serializerOptions">Serializer settings; null uses <see cref="JsonlDefaults.SerializerOptions"/>. Must not be indented.</param>
    /// <returns>The writer; dispose it when done.</returns>
    /// <exception cref="InvalidOperationException">
    /// The file does not end with a newline: its last line may be torn, and appending would glue a new record to it.
    /// Call <see cref="JsonlResume.RepairAsync(string, CancellationToken)"/> first.
    /// </exception>
    public static JsonlWriter Open(string path, JsonSerializerOptions? serializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var options = CheckOptions(serializerOptions);
        JsonlLines.RequireNotFolder(path);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
        });
        try
        {
            if (stream.Length > 0 && !EndsWithNewline(path))
            {
                throw new InvalidOperationException(
                    $"{path} does not end with a newline: its last line may be torn by a crash. " +
                    "Call JsonlResume.RepairAsync before appending.");
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return new JsonlWriter(path, stream, options);
    }

    /// <summary>Appends one record as one line and flushes it to disk.</summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Checked before the write; a started line is always finished.</param>
    /// <returns>A task that completes when the line is on disk.</returns>
    public Task WriteAsync<T>(T record, CancellationToken cancellationToken = default) =>
        WriteManyAsync([record], cancellationToken);

    /// <summary>
    /// Appends records, one line each (one write call per line), then flushes them to disk once.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <param name="records">The records, written in order.</param>
    /// <param name="cancellationToken">Checked between lines; a started line is always finished, and what was written is flushed.</param>
    /// <returns>A task that completes when the lines are on disk.</returns>
    public async Task WriteManyAsync<T>(IEnumerable<T> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var typeInfo = JsonlDefaults.TypeInfo<T>(_serializerOptions);
        try
        {
            foreach (var record in records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                byte[] line = SerializeLine(record, typeInfo);
                await _stream.WriteAsync(line, CancellationToken.None).ConfigureAwait(false);
                RecordsWritten++;
            }
        }
        finally
        {
            _stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Writes a whole file atomically: the records go to a temporary file next to <paramref name="path"/>, which is
    /// flushed to disk and then renamed over <paramref name="path"/>. Readers see the old file or the new one, never a mix.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <param name="path">The JSONL file to create or replace.</param>
    /// <param name="records">The records, in order.</param>
    /// <param name="serializerOptions">Serializer settings; null uses <see cref="JsonlDefaults.SerializerOptions"/>. Must not be indented.</param>
    /// <param name="cancellationToken">Stops the write; the target is then left untouched and the temporary file deleted.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static async Task WriteAllAsync<T>(
        string path,
        IEnumerable<T> records,
        JsonSerializerOptions? serializerOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(records);
        var typeInfo = JsonlDefaults.TypeInfo<T>(CheckOptions(serializerOptions));
        JsonlLines.RequireNotFolder(path);
        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        string temp = $"{fullPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                foreach (var record in records)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await stream.WriteAsync(SerializeLine(record, typeInfo), cancellationToken).ConfigureAwait(false);
                }

                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    /// <summary>Flushes and closes the file.</summary>
    /// <returns>A task that completes when the file is closed.</returns>
    public ValueTask DisposeAsync() => _stream.DisposeAsync();

    internal static byte[] SerializeLine<T>(T record, JsonTypeInfo<T> typeInfo)
    {
        if (record is null)
        {
            throw new ArgumentException("A JSONL record cannot be null.", nameof(record));
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(record, typeInfo);
        byte[] line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }

    private static JsonSerializerOptions CheckOptions(JsonSerializerOptions? serializerOptions)
    {
        var options = serializerOptions ?? JsonlDefaults.SerializerOptions;
        if (options.WriteIndented)
        {
            throw new ArgumentException("JSONL needs one record per line; WriteIndented must be false.", nameof(serializerOptions));
        }

        return options;
    }

    private static bool EndsWithNewline(string path)
    {
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        reader.Seek(-1, SeekOrigin.End);
        return reader.ReadByte() == '\n';
    }
}
