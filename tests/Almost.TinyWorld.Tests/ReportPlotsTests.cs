using System.Globalization;
using Almost.Quickstart;
using FluentAssertions;
using SkiaSharp;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary>The report's PNG plots (ScottPlot on SkiaSharp's Linux native library).</summary>
public sealed class ReportPlotsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "almost-plots-" + Guid.NewGuid().ToString("N"));

    public ReportPlotsTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Asserts a file is a PNG of the given size with more than a blank canvas in it.</summary>
    internal static void ShouldBeAPlot(string path, int width, int height)
    {
        File.Exists(path).Should().BeTrue(path);
        var bytes = File.ReadAllBytes(path);
        bytes.Take(8).Should().Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], "a PNG starts with its signature");
        bytes.Length.Should().BeGreaterThan(10_000, "axes, labels and lines take more than an empty canvas");
        using var image = SKBitmap.Decode(path);
        image.Should().NotBeNull($"{path} decodes");
        (image.Width, image.Height).Should().Be((width, height));
    }

    private string Metrics(string run, params string[] lines)
    {
        var path = Path.Combine(_folder, run, "metrics.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Step(int step, double loss) => string.Create(CultureInfo.InvariantCulture, $"{{\"step\":{step},\"loss\":{loss},\"lr\":0.0001}}");

    [Fact]
    public void A_loss_plot_renders_from_a_hand_made_metrics_file_through_SkiaSharps_native_library()
    {
        var a = Metrics("a", Step(5, 0.69), Step(10, 0.52), "{\"step\":12,\"lr\":0.0001}", "{\"step\":15,\"loss\":\"NaN\"}", Step(20, 0.31));
        var b = Metrics("b", Step(5, 0.7), Step(10, 0.66));
        var png = Path.Combine(_folder, "loss.png");

        ReportPlots.LossCurves(png, "Reward model", [("almost", a), ("no_filter", b)]).Should().BeTrue();

        ShouldBeAPlot(png, 960, 540);
        Directory.GetFiles(_folder, "*.png").Should().Equal([png], "the temporary file was renamed, not left behind");
    }

    [Fact]
    public void Metrics_series_skip_lines_without_the_key_and_non_finite_values()
    {
        var path = Metrics("run", Step(5, 0.5), "{\"step\":6,\"lr\":1}", "{\"step\":7,\"loss\":\"Infinity\"}", "", Step(8, 0.25));

        TrainingMetrics.Read(path, "loss").Should().Equal((5L, 0.5), (8L, 0.25));
    }

    [Fact]
    public void A_bad_metrics_line_is_named_by_file_and_line_and_costs_the_plots_only()
    {
        var path = Metrics("rm/almost", Step(5, 0.5), "{\"step\":6,", Step(7, 0.4));
        File.WriteAllText(Path.Combine(_folder, "report.md"), "# report\n");
        var numbers = new MainJobNumbers
        {
            Systems = new() { ["almost_sft"] = new SystemScore(0.6, 0.5, 0.7, 60) },
            VanillaBestConfiguration = "small-careful-5",
            WinRates = [],
            SyntheticLabelAgreement = [],
            RmOracleAccuracy = 0.8,
            RmOraclePairs = 10,
            AlignmentTax = [],
            Queries = new QueryCounts(1, 1, 0, []),
            Comparisons = [],
            PpoTrace = [],
            PairedDifferences = [],
            SelfPlaySelection = [],
            SelfPlayConsensusWeight = 0,
            SftReplayRatio = 1,
            SelfPlayCandidates = 8,
            SftLoraRank = 8,
            SftLearningRate = 2e-3,
        };

        FluentActions.Invoking(() => TrainingMetrics.Read(path, "loss"))
            .Should().Throw<InvalidDataException>().WithMessage($"{path}:2: *");
        var logged = new List<string>();
        ReportPlots.AddToReport(_folder, numbers, logged.Add);

        logged.Should().ContainSingle().Which.Should().StartWith("plots: not drawn").And.Contain($"{path}:2:").And.NotContain("\n");
        File.ReadAllText(Path.Combine(_folder, "report.md")).Should().Be("# report\n", "the report written before the plots stays as it was");
    }
}
