using Almost.Quickstart;
using Almost.Rlhf.Training;
using Almost.Synthetic;
using Almost.Synthetic.SelfPlay;
using FluentAssertions;
using Spectre.Console;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary>The main job's console: bars in a terminal, plain stamped lines when the output is redirected.</summary>
public sealed class StageProgressTests
{
    private static readonly Func<TimeSpan> At75Seconds = () => TimeSpan.FromSeconds(75);

    [Fact]
    public async Task Redirected_output_gets_plain_stamped_lines_a_line_per_quarter_and_no_escape_codes()
    {
        var writer = new StringWriter();
        await using (var console = StageProgress.Plain(writer, At75Seconds))
        {
            console.IsLive.Should().BeFalse();
            console.Log("1-queries: running");
            IProgress<SyntheticProgress> queries = console.Bar("1-queries");
            for (var accepted = 0; accepted <= 40; accepted += 5)
            {
                queries.Report(new SyntheticProgress("queries", accepted, 40, $"round {accepted / 5}"));
            }

            IProgress<SelfPlayProgress> selfPlay = console.Bar("6-selfplay-almost");
            selfPlay.Report(new SelfPlayProgress(3, 10));
            IProgress<TrainingProgress> sft = console.Bar("7-sft-almost");
            sft.Report(new TrainingProgress(4, 4, 1.0, 0.25, 1e-4, 0.5, 1000));
            var evaluation = console.Bar("10-evaluation");
            evaluation.Report(new SystemEvaluation("almost_sft", ["p"], ["r"], [0.5], double.NaN));
            evaluation.Report(new SystemEvaluation("almost_ppo", ["p"], ["r"], [0.75], double.NaN));
        }

        var text = writer.ToString();
        text.Should().NotContain("\u001b", "a log holds no ANSI escape codes");
        text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Should().Equal(
            "[01:15] 1-queries: running",
            "[01:15] 1-queries: 25 % (10/40, round 2)",
            "[01:15] 1-queries: 50 % (20/40, round 4)",
            "[01:15] 1-queries: 75 % (30/40, round 6)",
            "[01:15] 1-queries: 100 % (40/40, round 8)",
            "[01:15] 6-selfplay-almost: 25 % (3/10, dialogues)",
            "[01:15] 7-sft-almost: 100 % (4/4, loss 0.250)",
            "[01:15] 10-evaluation: 1 done, almost_sft 0.500",
            "[01:15] 10-evaluation: 2 done, almost_ppo 0.750");
    }

    [Fact]
    public async Task The_test_host_whose_output_is_piped_gets_the_plain_fallback()
    {
        Console.IsOutputRedirected.Should().BeTrue("the test host pipes standard output, as CI and '> log' do");
        await using var console = StageProgress.ForConsole(At75Seconds);
        console.IsLive.Should().BeFalse();
    }

    [Fact]
    public async Task A_terminal_gets_a_live_bar_per_stage_with_the_log_lines_above()
    {
        var writer = new StringWriter();
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            ColorSystem = ColorSystemSupport.TrueColor,
            Out = new AnsiConsoleOutput(writer),
        });
        await using (var console = StageProgress.Live(terminal, At75Seconds))
        {
            console.IsLive.Should().BeTrue();
            console.Log("7-sft-almost: running");
            IProgress<TrainingProgress> sft = console.Bar("7-sft-almost");
            sft.Report(new TrainingProgress(2, 4, 0.5, 0.3, 1e-4, 0.5, 1000));
            IProgress<TrainingProgress> dpo = console.Bar("9-dpo");
            dpo.Report(new TrainingProgress(4, 4, 1.0, 0.6, 1e-4, 0.5, 1000));
        }

        var text = writer.ToString();
        text.Should().Contain("\u001b[", "bars are drawn with ANSI cursor control");
        text.Should().Contain("[01:15] 7-sft-almost: running").And.Contain("7-sft-almost").And.Contain("9-dpo").And.Contain("100%");
        text.Should().Contain("50%", "the SFT bar ended where its last report left it (2 of 4 steps)");
    }
}
