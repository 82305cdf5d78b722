namespace Almost.Tokenization;

/// <summary>
/// Thrown when a tokenizer cannot be loaded: the folder holds no usable tokenizer files, a file is malformed
/// (bad JSON, bad protobuf), or a file describes something this SDK does not support (for example a
/// <c>Unigram</c> model in <c>tokenizer.json</c>). The message names the file and, where known, the field or
/// JSON path and line, and says what was expected.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file or folder that could not be loaded.</param>
    /// <param name="message">What was wrong and what was expected; the path is prepended.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public TokenizerLoadException(string path, string message, Exception? innerException = null)
        : base($"{path}: {message}", innerException)
    {
        Path = path;
    }

    /// <summary>The file or folder that could not be loaded.</summary>
    public string Path { get; }
}
