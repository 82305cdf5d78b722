namespace Almost.Checkpoints;

/// <summary>
/// A checkpoint cannot be read or does not fit the model: a missing or corrupt file, a refused format, or tensors that
/// are missing, unexpected or of the wrong shape. The message names the file or folder and what was expected.
/// </summary>
/// <remarks>Derives from <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so callers that
/// handle I/O failures in general also handle these.</remarks>
public sealed class CheckpointException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file or folder.</param>
    /// <param name="filePath">The file or folder at fault, if there is one.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public CheckpointException(string message, string? filePath = null, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file or folder at fault, or null.</summary>
    public string? FilePath { get; }

    /// <summary>Names of tensors the module expects that the checkpoint lacks (empty unless this is a mismatch error).</summary>
    public IReadOnlyList<string> MissingKeys { get; init; } = [];

    /// <summary>Names of tensors in the checkpoint that the module does not have (empty unless this is a mismatch error).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; init; } = [];

    /// <summary>Names of tensors whose shape in the checkpoint differs from the module's (empty unless this is a mismatch error).</summary>
    public IReadOnlyList<string> ShapeMismatchKeys { get; init; } = [];
}
