using System.Globalization;

namespace Almost.Samples;

/// <summary>
/// Command-line values for the sample programs: paths resolved against the caller's working directory (never the
/// app's own folder), numbers parsed with the flag named, and one clear line (no stack trace) when a value is bad.
/// </summary>
public static class SampleArguments
{
    /// <summary>The full path of <paramref name="value"/>, relative paths taken from the current working directory.</summary>
    public static string FullPath(string value) => Path.GetFullPath(value, Environment.CurrentDirectory);

    /// <summary>An existing folder given to <paramref name="flag"/>; throws <see cref="ArgumentException"/> naming the flag and the resolved path otherwise.</summary>
    public static string ExistingFolder(string value, string flag)
    {
        var full = FullPath(value);
        if (File.Exists(full))
        {
            throw new ArgumentException($"{flag}: '{full}' is a file; expected a folder.");
        }

        if (!Directory.Exists(full))
        {
            throw new ArgumentException($"{flag}: folder '{full}' does not exist (relative paths are taken from the working directory {Environment.CurrentDirectory}).");
        }

        return full;
    }

    /// <summary>A folder to write into given to <paramref name="flag"/>: it may be missing, but must not be a file.</summary>
    public static string OutputFolder(string value, string flag)
    {
        var full = FullPath(value);
        return File.Exists(full) ? throw new ArgumentException($"{flag}: '{full}' is a file; expected a folder to write into.") : full;
    }

    /// <summary>A positive integer given to <paramref name="flag"/>.</summary>
    public static int PositiveInt(string value, string flag) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed > 0
            ? parsed
            : throw new ArgumentException($"{flag} needs a positive integer, got '{value}'.");

    /// <summary>A finite number given to <paramref name="flag"/> (invariant culture).</summary>
    public static double Number(string value, string flag) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed)
            ? parsed
            : throw new ArgumentException($"{flag} needs a number, got '{value}'.");

    /// <summary>
    /// From now on, an unhandled <see cref="ArgumentException"/> (a bad argument) or input error of the SDK (a missing
    /// or malformed file) ends the program with one line on stderr and exit code 2 instead of a stack trace. Anything
    /// else is a bug and keeps the runtime's full report.
    /// </summary>
    public static void ExitOnInputError(string usage) =>
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if (e.ExceptionObject is Exception error && IsInputError(error))
            {
                Console.Error.WriteLine($"error: {error.Message.ReplaceLineEndings(" ")}");
                Console.Error.WriteLine(usage);
                Environment.Exit(2);
            }
        };

    private static bool IsInputError(Exception e) =>
        e is ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or Almost.Checkpoints.CheckpointException or Almost.Tokenization.TokenizerLoadException or Almost.Data.JsonlFormatException;
}
