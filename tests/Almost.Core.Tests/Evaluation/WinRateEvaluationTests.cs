using Almost.Evaluation;
using Almost.Generation;
using Almost.Scoring;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Evaluation;

public sealed class WinRateEvaluationTests
{
    [Theory]
    // Hand-computed: p = 0.7, n = 10, z = 1.959964 -> centre (0.7 + 0.19208)/1.38415 = 0.64450; half 0.25667
    [InlineData(7, 10, 0.7, 0.39677, 0.89222)]
    // p = 0 (n = 20): [0, z²/(n + z²)] = [0, 3.84146/23.84146] = [0, 0.16113]
    [InlineData(0, 20, 0.0, 0.0, 0.16113)]
    // p = 0.5, n = 100: centre 0.5, half = 1.959964·sqrt(0.0025 + 0.0000960)/1.0384146 = 0.09617
    [InlineData(50, 100, 0.5, 0.40383, 0.59617)]
    [InlineData(0, 5, 0.0, 0.0, 0.4345)]
    [InlineData(50, 50, 1.0, 0.9287, 1.0)]
    [InlineData(590, 1000, 0.59, 0.5592, 0.6201)]
    public void Wilson_interval_matches_hand_computed_values(double successes, int trials, double p, double lower, double upper)
    {
        var ci = WilsonInterval.Of(successes, trials);
        ci.Estimate.Should().BeApproximately(p, 1e-9);
        ci.Lower.Should().BeApproximately(lower, 1e-4);
        ci.Upper.Should().BeApproximately(upper, 1e-4);
    }

    [Fact]
    public void Win_rate_counts_ties_as_half_and_reports_the_decisive_rate()
    {
        var rate = WinRateEvaluation.Count([
            new PreferenceVerdict(PreferredResponse.A), new PreferenceVerdict(PreferredResponse.A), new PreferenceVerdict(PreferredResponse.A),
            new PreferenceVerdict(PreferredResponse.B), new PreferenceVerdict(PreferredResponse.Tie), new PreferenceVerdict(PreferredResponse.Tie),
        ]);

        (rate.Wins, rate.Losses, rate.Ties, rate.Total).Should().Be((3, 1, 2, 6));
        rate.WithTiesAsHalf.Estimate.Should().BeApproximately(4.0 / 6, 1e-12);
        rate.AmongDecisive.Estimate.Should().Be(0.75);
        rate.TieRate.Should().BeApproximately(1.0 / 3, 1e-12);
        WilsonInterval.Of(0, 0).Estimate.Should().Be(double.NaN);
        new WilsonInterval(0.5, 0.4, 0.6).IsDisjointFrom(new WilsonInterval(0.7, 0.61, 0.8)).Should().BeTrue();
        new WilsonInterval(0.5, 0.4, 0.6).IsDisjointFrom(new WilsonInterval(0.7, 0.6, 0.8)).Should().BeFalse();
    }

    /// <summary>A judge model that prefers whichever answer contains "good", or (biased) always says A.</summary>
    private sealed class ScriptedJudgeModel(bool positionBiased) : ITextGenerator
    {
        public List<string> Prompts { get; } = [];

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        {
            Prompts.AddRange(prompts);
            return Task.FromResult<IReadOnlyList<IReadOnlyList<GenerationResult>>>(prompts.Select(p =>
            {
                var a = p[p.IndexOf("[Answer A]", StringComparison.Ordinal)..p.IndexOf("[Answer B]", StringComparison.Ordinal)];
                var verdict = positionBiased ? "[[A]]" : a.Contains("good", StringComparison.Ordinal) ? "I pick [[A]]." : "[[B]]";
                return (IReadOnlyList<GenerationResult>)[new GenerationResult(verdict, [], null, FinishReason.Stop)];
            }).ToArray());
        }
    }

    [Fact]
    public async Task The_LLM_judge_asks_both_orders_and_a_position_biased_judge_gives_ties()
    {
        var prompt = AlmostTranscript.FormatPrompt("What is 2 plus 3?");
        var fair = new ScriptedJudgeModel(positionBiased: false);
        var result = await WinRateEvaluation.CompareAsync(new LlmPreferenceJudge(fair),
            [prompt, prompt], [" good answer", " bad answer"], [" bad answer", " good answer"]);
        (result.Wins, result.Losses, result.Ties).Should().Be((1, 1, 0));
        fair.Prompts.Should().HaveCount(4);
        fair.Prompts[0].Should().Contain("[User request]\nWhat is 2 plus 3?\n").And.Contain("[Answer A]\ngood answer");
        fair.Prompts[1].Should().Contain("[Answer A]\nbad answer", "the second prompt swaps the responses");

        var biased = await WinRateEvaluation.CompareAsync(new LlmPreferenceJudge(new ScriptedJudgeModel(positionBiased: true)),
            [prompt], [" good answer"], [" bad answer"]);
        biased.Ties.Should().Be(1, "a judge that always picks the first answer disagrees with itself across orders");
        LlmPreferenceJudge.ParseVerdict("no verdict here").Should().BeNull();
    }
}
