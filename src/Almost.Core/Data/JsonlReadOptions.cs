using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Almost.Data;

/// <summary>How <see cref="JsonlReader"/> reads a file.</summary>
public sealed record JsonlReadOptions
{
    /// <summary>
    /// False (default, strict): the first malformed line throws <see cref="JsonlFormatException"/> naming the file and line.
    /// True (lenient): malformed lines are skipped, counted, reported to <see cref="LineSkipped"/> and logged as warnings.
    /// </summary>
    public bool Lenient { get; init; }

    /// <summary>Serializer settings; null uses <see cref="JsonlDefaults.SerializerOptions"/> (snake_case names).</summary>
    public JsonSerializerOptions? SerializerOptions { get; init; }

    /// <summary>Receives a warning per skipped line in lenient mode; may be null.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Called for every line skipped in lenient mode, as it is skipped; may be null.</summary>
    public Action<JsonlSkippedLine>? LineSkipped { get; init; }
}

/// <summary>A line that lenient reading skipped.</summary>
/// <param name="FilePath">The file, as the caller named it.</param>
/// <param name="LineNumber">1-based line number.</param>
/// <param name="Reason">What was wrong, in the words a strict read would have thrown.</param>
public sealed record JsonlSkippedLine(string FilePath, long LineNumber, string Reason);

/// <summary>A record with the line it came from.</summary>
/// <typeparam name="T">The record type.</typeparam>
/// <param name="Record">The record.</param>
/// <param name="LineNumber">1-based line number in the file.</param>
/// <param name="Index">0-based position among the records read (blank and skipped lines do not count).</param>
public readonly record struct JsonlEntry<T>(T Record, long LineNumber, int Index);

/// <summary>Everything <see cref="JsonlReader.ReadAllAsync{T}"/> read, with the lines it skipped in lenient mode.</summary>
/// <typeparam name="T">The record type.</typeparam>
/// <param name="Records">The records, in file order; never empty.</param>
/// <param name="SkippedLines">Lines skipped in lenient mode, in file order; empty in strict mode.</param>
public sealed record JsonlReadResult<T>(IReadOnlyList<T> Records, IReadOnlyList<JsonlSkippedLine> SkippedLines)
{
    /// <summary>Number of lines skipped in lenient mode.</summary>
    public int SkippedCount => SkippedLines.Count;
}
