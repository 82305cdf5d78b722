using System.Diagnostics;
using FluentAssertions;
using Xunit;

namespace Almost.Serve.Tests;

/// <summary>The Almost.Serve program as a user starts it: paths from the working directory, one-line errors.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-serve-args-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_relative_model_path_is_resolved_against_the_working_directory()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "models", "tiny"));
        var previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = _dir;
            ServeOptions.FromArgs(["--model", "models/tiny"]).ModelFolder.Should().Be(Path.Combine(_dir, "models", "tiny"));
            var missing = () => ServeOptions.FromArgs(["--model", "models/none"]);
            missing.Should().Throw<ArgumentException>().WithMessage($"--model: folder '{Path.Combine(_dir, "models", "none")}' does not exist*");
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    [Theory]
    [InlineData("--model", "{dir}/none", "*--model: folder*does not exist*")]
    [InlineData("--model", "{dir}", "*no tokenizer found*")]
    [InlineData("--port", "eighty", "*--port needs a positive integer, got 'eighty'*")]
    public void A_bad_argument_is_one_line_and_a_nonzero_exit_code(string flag, string value, string message)
    {
        var args = flag == "--model" ? new[] { flag, value.Replace("{dir}", _dir, StringComparison.Ordinal) } : new[] { "--model", _dir, flag, value };
        var serveDll = Path.Combine(AppContext.BaseDirectory, "Almost.Serve.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(serveDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit(60_000).Should().BeTrue();

        process.ExitCode.Should().Be(2);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().StartWith("error: ").And.Match(message);
        stderr.Should().NotContain("Unhandled exception").And.NotContain("   at ");
    }
}
