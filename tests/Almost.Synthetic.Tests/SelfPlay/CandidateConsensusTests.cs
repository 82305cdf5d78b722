using Almost.Generation;
using Almost.Scoring;
using Almost.Synthetic.SelfPlay;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.SelfPlay;

public sealed class CandidateConsensusTests
{
    [Fact]
    public void Consensus_is_the_mean_ROUGE_L_F1_with_the_other_candidates()
    {
        // F1("a b", "a b") = 1, F1("a b", "c") = 0, F1("a b c", "a b") = 2·(2/3·1)/(2/3+1) = 0.8, F1("a b c", "c") = 2·(1/3·1)/(1/3+1) = 0.5.
        CandidateConsensus.Of(["a b", "a b", "c"]).Should().Equal(0.5, 0.5, 0.0);
        var values = CandidateConsensus.Of(["a b c", "a b", "c"]);
        values[0].Should().BeApproximately((0.8 + 0.5) / 2, 1e-12);
        values[1].Should().BeApproximately((0.8 + 0.0) / 2, 1e-12);
        values[2].Should().BeApproximately((0.5 + 0.0) / 2, 1e-12);
    }

    [Fact]
    public void One_candidate_or_none_has_no_consensus()
    {
        CandidateConsensus.Of(["only"]).Should().Equal(0.0);
        CandidateConsensus.Of([]).Should().BeEmpty();
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_consensus_weight_that_is_negative_or_not_finite_is_refused_by_name(double weight)
    {
        var act = () => new SelfPlayOptions { ConsensusWeight = weight }.Validate();
        act.Should().Throw<ArgumentException>().WithMessage("*ConsensusWeight*");
    }

    /// <summary>Assistant candidates: three that agree ("the answer is 5") and one outlier; the user asks one follow-up.</summary>
    private sealed class AgreeingGenerator : ITextGenerator
    {
        private static readonly string[] Replies =
            [" reply 0 the answer is 5", " reply 1 an entirely different story about cats", " reply 2 the answer is 5", " reply 3 the answer is 5"];

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<IReadOnlyList<GenerationResult>>>(prompts.Select(p =>
                (IReadOnlyList<GenerationResult>)Enumerable.Range(0, options.SamplesPerPrompt)
                    .Select(k => new GenerationResult(Replies[k], [], null, FinishReason.Stop)).ToArray()).ToArray());
    }

    private sealed class TableRewardModel(params double[] byCandidate) : IRewardModel
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<double>>(inputs.Select(i => byCandidate[int.Parse(i.Response.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])]).ToArray());
    }

    private static async Task<SelfPlayTurn> FirstTurn(double consensusWeight, params double[] rewards)
    {
        var generator = new AgreeingGenerator();
        var sampling = new GenerationOptions { MaxNewTokens = 8, Temperature = 1.0 };
        var play = new RewardModelSelfPlay(
            new SelfPlayRole(generator, "", sampling), new SelfPlayRole(generator, "", sampling), new TableRewardModel(rewards),
            new SelfPlayOptions { MaxTurns = 1, CandidatesPerTurn = 4, ConsensusWeight = consensusWeight });
        var records = await play.PlayChunkAsync(0, ["0"], ["What is 2 plus 3?"]);
        return records[0].Turns[0];
    }

    [Fact]
    public async Task Without_consensus_the_reward_models_argmax_is_kept_and_no_consensus_is_recorded()
    {
        var turn = await FirstTurn(0, 0.0, 0.3, 0.1, 0.0);
        turn.ChosenIndex.Should().Be(1, "the paper's rule: the highest reward, the outlier here");
        turn.Consensus.Should().BeNull();
    }

    [Fact]
    public async Task With_consensus_the_agreeing_candidates_win_and_the_reward_breaks_their_tie()
    {
        var turn = await FirstTurn(8, 0.0, 0.3, 0.1, 0.0);
        turn.ChosenIndex.Should().Be(2, "candidates 0, 2 and 3 agree; of those, 2 has the highest reward");
        turn.ChosenScore.Should().Be(0.1, "the recorded score stays the reward of the kept candidate");
        turn.Consensus.Should().HaveCount(4);
        turn.Consensus![1].Should().BeLessThan(turn.Consensus[0]);
        turn.Consensus.Should().Equal(CandidateConsensus.Of(turn.Candidates!));
    }

    [Fact]
    public async Task A_reward_margin_larger_than_the_weighted_consensus_gap_still_wins()
    {
        var turn = await FirstTurn(1, 0.0, 5.0, 0.1, 0.0);
        turn.ChosenIndex.Should().Be(1);
    }
}
