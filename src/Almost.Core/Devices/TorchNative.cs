using TorchSharp;

namespace Almost.Devices;

/// <summary>
/// Checks once per process that TorchSharp's native libraries load, and turns the loader's opaque failure into a
/// <see cref="NativeDependencyException"/> that says what is missing and how to fix it.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> is linked against libstdc++ from GCC 13 and needs the symbol
/// version <c>GLIBCXX_3.4.32</c>. Debian 12 ships GLIBCXX_3.4.30, so without the fix the first tensor operation
/// fails deep inside a type initializer.
/// </remarks>
public static class TorchNative
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107.0 needs on Linux.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly Lazy<Exception?> LoadError = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws <see cref="NativeDependencyException"/> when TorchSharp's native library cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } error)
        {
            throw new NativeDependencyException(Explain(error, FindLibStdCxx()), error);
        }
    }

    private static Exception? TryLoad()
    {
        try
        {
            using var probe = torch.zeros(1);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>
    /// Builds the message for a failed native load. <paramref name="libStdCxxPath"/> is the system libstdc++ (null when
    /// none was found); when it lacks <see cref="RequiredGlibcxx"/>, the message says so and gives the fix.
    /// </summary>
    public static string Explain(Exception error, string? libStdCxxPath)
    {
        ArgumentNullException.ThrowIfNull(error);
        var detail = Innermost(error).Message;
        if (OperatingSystem.IsLinux() && (libStdCxxPath is null || !FileContains(libStdCxxPath, RequiredGlibcxx)
                                          || detail.Contains("GLIBCXX", StringComparison.Ordinal)))
        {
            var where = libStdCxxPath is null ? "no libstdc++.so.6 was found" : $"{libStdCxxPath} lacks it";
            return $"TorchSharp's native library libLibTorchSharp.so could not be loaded: it needs {RequiredGlibcxx} " +
                   $"(libstdc++ from GCC 13 or newer) and {where}. On Debian 12 run `bash eng/native-prereqs.sh` as root: " +
                   "it installs libstdc++6 from Debian 13 (trixie) through a private apt source list (a copy of " +
                   "/etc/apt/sources.list.d/debian.sources plus a trixie.sources, passed with -o Dir::Etc::SourceParts), " +
                   "never editing debian.sources. Elsewhere install libstdc++6 from GCC 13+ (Debian 13, Ubuntu 24.04). " +
                   $"Loader said: {detail}";
        }

        return "TorchSharp's native library could not be loaded. Reference the TorchSharp-cpu package (or a TorchSharp " +
               $"CUDA package) and make sure LibTorch's native files are next to the application. Loader said: {detail}";
    }

    /// <summary>Finds the libstdc++.so.6 the dynamic loader would use on x86-64 Linux, or null.</summary>
    public static string? FindLibStdCxx()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>True when the file at <paramref name="path"/> contains the ASCII string <paramref name="text"/>.</summary>
    internal static bool FileContains(string path, string text)
    {
        try
        {
            var needle = System.Text.Encoding.ASCII.GetBytes(text);
            var bytes = File.ReadAllBytes(path);
            return bytes.AsSpan().IndexOf(needle) >= 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
