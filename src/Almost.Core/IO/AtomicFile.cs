using System.Text;
using System.Text.Json;

namespace Almost.IO;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a half-written file:
/// the content goes to a temporary file in the same directory, is flushed to disk, and is then renamed over the
/// target. If writing fails, the temporary file is deleted and the target is left as it was.
/// </summary>
/// <remarks>
/// The temporary file is named <c>.{file name}.{random}.tmp</c> (hidden on Unix), in the target's directory so the
/// final rename never crosses file systems. The rename is atomic on POSIX file systems and on NTFS.
/// </remarks>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="contents"/> encoded as UTF-8 without a BOM.</summary>
    /// <param name="path">The file to create or replace. Its directory must exist.</param>
    /// <param name="contents">The text to write.</param>
    public static void WriteAllText(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8NoBom, bufferSize: 64 * 1024, leaveOpen: true);
            writer.Write(contents);
        });
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    /// <param name="path">The file to create or replace. Its directory must exist.</param>
    /// <param name="bytes">The bytes to write.</param>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with <paramref name="value"/> serialized as JSON
    /// (indented unless <paramref name="options"/> says otherwise). Meant for small files such as <c>config.json</c>.
    /// </summary>
    /// <typeparam name="T">The type to serialize.</typeparam>
    /// <param name="path">The file to create or replace. Its directory must exist.</param>
    /// <param name="value">The value to serialize.</param>
    /// <param name="options">Serializer options; null means <see cref="JsonSerializerOptions.WriteIndented"/> = true.</param>
    public static void WriteJson<T>(string path, T value, JsonSerializerOptions? options = null) =>
        Write(path, stream => JsonSerializer.Serialize(stream, value, options ?? IndentedJson));

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with whatever <paramref name="write"/> writes to the stream it is
    /// given. If <paramref name="write"/> throws, the exception propagates, no temporary file remains and the target
    /// is untouched.
    /// </summary>
    /// <param name="path">The file to create or replace. Its directory must exist.</param>
    /// <param name="write">Writes the content; it must not dispose the stream.</param>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        var fullPath = Path.GetFullPath(path);
        var tempPath = WriteTemporary(fullPath, write);
        try
        {
            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>
    /// Writes a flushed temporary file next to <paramref name="path"/> and returns its name, for callers that rename
    /// several files at once after all are written. On failure the temporary file is deleted.
    /// </summary>
    internal static string WriteTemporary(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)
            ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Cannot write '{fullPath}': directory '{directory}' does not exist.");
        }

        var tempPath = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
        return tempPath;
    }

    /// <summary>Deletes a file if it exists, swallowing I/O errors (used for clean-up after another failure).</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort, as above.
        }
    }
}
