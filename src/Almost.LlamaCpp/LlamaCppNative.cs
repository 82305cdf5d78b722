using LLama.Native;

namespace Almost.LlamaCpp;

/// <summary>
/// One-time setup of llama.cpp's native library: its log goes nowhere but errors (llama.cpp prints every tensor it
/// loads otherwise). The callback can only be set before the library loads, so this runs before first use.
/// </summary>
internal static class LlamaCppNative
{
    private static int s_configured;

    /// <summary>Routes llama.cpp's log to stderr, errors only; later calls do nothing.</summary>
    public static void QuietLogs()
    {
        if (Interlocked.Exchange(ref s_configured, 1) == 1 || NativeLibraryConfig.LLama.LibraryHasLoaded)
        {
            return;
        }

        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level == LLamaLogLevel.Error)
            {
                Console.Error.Write(message);
            }
        });
    }
}
