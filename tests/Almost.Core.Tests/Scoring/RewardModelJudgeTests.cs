using Almost.Scoring;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Scoring;

public sealed class RewardModelJudgeTests
{
    /// <summary>Scores a response by its length, and records every call.</summary>
    private sealed class LengthRewardModel : IRewardModel
    {
        public List<int> CallSizes { get; } = [];

        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default)
        {
            CallSizes.Add(inputs.Count);
            return Task.FromResult<IReadOnlyList<double>>(inputs.Select(i => (double)i.Response.Length).ToArray());
        }
    }

    [Fact]
    public async Task Higher_reward_wins_and_equal_rewards_tie_with_the_margin_reported()
    {
        var model = new LengthRewardModel();
        var judge = new RewardModelJudge(model);
        var verdicts = await judge.JudgeAsync(
        [
            new PreferenceQuestion("p", " long answer", " short"),
            new PreferenceQuestion("p", " a", " bb"),
            new PreferenceQuestion("p", " same", " same"),
        ]);

        verdicts.Select(v => v.Preferred).Should().Equal(PreferredResponse.A, PreferredResponse.B, PreferredResponse.Tie);
        verdicts[0].Margin.Should().Be(6);
        verdicts[1].Margin.Should().Be(-1);
        model.CallSizes.Should().Equal([6], "both responses of every question are scored in one call");
    }

    [Fact]
    public async Task Differences_below_the_tie_margin_are_ties()
    {
        var judge = new RewardModelJudge(new LengthRewardModel(), tieMargin: 2);
        var verdicts = await judge.JudgeAsync([new PreferenceQuestion("p", "ab", "a"), new PreferenceQuestion("p", "abc", "a")]);
        verdicts.Select(v => v.Preferred).Should().Equal(PreferredResponse.Tie, PreferredResponse.A);
    }

    [Fact]
    public void A_negative_tie_margin_is_refused()
    {
        var act = () => new RewardModelJudge(new LengthRewardModel(), tieMargin: -1);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("tieMargin");
    }
}
