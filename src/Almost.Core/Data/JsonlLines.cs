using System.Runtime.CompilerServices;

namespace Almost.Data;

/// <summary>One physical line of a JSONL file, as bytes.</summary>
/// <param name="Start">Byte offset of the line's first byte in the file.</param>
/// <param name="End">Byte offset just past the line, including its '\n' when present.</param>
/// <param name="LineNumber">1-based line number.</param>
/// <param name="Content">The line without its '\n', trailing '\r' (CRLF) or leading UTF-8 BOM. Valid until the next line is read.</param>
/// <param name="HasNewline">Whether the line ends with '\n' (false only for a final line).</param>
internal readonly record struct JsonlLine(long Start, long End, long LineNumber, ReadOnlyMemory<byte> Content, bool HasNewline);

/// <summary>Splits a UTF-8 stream into lines with byte offsets; shared by the reader and the resume repair.</summary>
internal static class JsonlLines
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Throws <see cref="JsonlFormatException"/> when <paramref name="path"/> is a folder (opening one fails with a bare access error).</summary>
    public static void RequireNotFolder(string path)
    {
        if (Directory.Exists(path))
        {
            throw new JsonlFormatException(path, 0, "is a folder; expected a JSONL file (one JSON object per line).");
        }
    }

    public static FileStream OpenRead(string path)
    {
        RequireNotFolder(path);
        return new(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite,
            Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
            BufferSize = 0,
        });
    }

    public static async IAsyncEnumerable<JsonlLine> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        long bufferOffset = 0, lineNumber = 0;
        bool eof = false;
        while (true)
        {
            int newline = IndexOfNewline(buffer, start, end - start);
            if (newline >= 0)
            {
                lineNumber++;
                yield return MakeLine(buffer, bufferOffset, start, newline - start, newline + 1, lineNumber, hasNewline: true);
                start = newline + 1;
                continue;
            }

            if (eof)
            {
                if (end > start)
                {
                    lineNumber++;
                    yield return MakeLine(buffer, bufferOffset, start, end - start, end, lineNumber, hasNewline: false);
                }

                yield break;
            }

            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                bufferOffset += start;
                end -= start;
                start = 0;
            }

            if (end == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            int read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                eof = true;
            }
            else
            {
                end += read;
            }
        }
    }

    /// <summary>True when the line holds only JSON whitespace.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> content)
    {
        foreach (byte b in content)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static JsonlLine MakeLine(byte[] buffer, long bufferOffset, int start, int length, int endIndex, long lineNumber, bool hasNewline)
    {
        var content = buffer.AsMemory(start, length);
        long fileStart = bufferOffset + start;
        if (fileStart == 0 && content.Span.StartsWith(Bom))
        {
            content = content[Bom.Length..];
        }

        if (hasNewline && content.Length > 0 && content.Span[^1] == (byte)'\r')
        {
            content = content[..^1];
        }

        return new JsonlLine(fileStart, bufferOffset + endIndex, lineNumber, content, hasNewline);
    }

    private static int IndexOfNewline(byte[] buffer, int start, int count)
    {
        int index = buffer.AsSpan(start, count).IndexOf((byte)'\n');
        return index < 0 ? -1 : start + index;
    }
}
