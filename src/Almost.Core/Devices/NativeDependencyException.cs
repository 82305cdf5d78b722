namespace Almost.Devices;

/// <summary>
/// Thrown when TorchSharp's native library (<c>libLibTorchSharp.so</c> and LibTorch) cannot be loaded.
/// The message names the missing piece and the fix.
/// </summary>
public sealed class NativeDependencyException : Exception
{
    /// <summary>Creates the exception with a message and the loader's original error.</summary>
    public NativeDependencyException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
