namespace Almost.Data;

/// <summary>
/// A JSONL file does not hold what the reader expects. The message names the file, the 1-based line and the problem,
/// e.g. <c>data.jsonl line 7: missing required field 'chosen' (expected a string)</c>.
/// </summary>
public sealed class JsonlFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file, as the caller named it.</param>
    /// <param name="lineNumber">1-based line number; 0 when the problem concerns the whole file (e.g. an empty dataset).</param>
    /// <param name="problem">What is wrong and what was expected, without the file and line prefix.</param>
    /// <param name="innerException">The parser's exception, if any.</param>
    public JsonlFormatException(string filePath, long lineNumber, string problem, Exception? innerException = null)
        : base(lineNumber > 0 ? $"{filePath} line {lineNumber}: {problem}" : $"{filePath}: {problem}", innerException)
    {
        FilePath = filePath;
        LineNumber = lineNumber;
        Problem = problem;
    }

    /// <summary>The file, as the caller named it.</summary>
    public string FilePath { get; }

    /// <summary>1-based line number; 0 when the problem concerns the whole file.</summary>
    public long LineNumber { get; }

    /// <summary>What is wrong and what was expected, without the file and line prefix.</summary>
    public string Problem { get; }
}
