using Almost.Data;
using Almost.Rlhf.Sft;
using Almost.TinyWorld.Pipeline;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary><see cref="TinyWorldPipeline.ReplayDocumentsAsync"/>: how much of the pretraining sample SFT replays.</summary>
public sealed class SftReplayTests
{
    private static readonly ConversationRecord[] Dialogues = Enumerable.Range(0, 20).Select(i => new ConversationRecord
    {
        Messages = [ChatMessage.User($"What is {i} plus {i}?"), ChatMessage.Assistant($"{i} plus {i} is {2 * i}."), ChatMessage.User("Thanks."), ChatMessage.Assistant("You are welcome.")],
    }).ToArray();

    private static async Task<(IReadOnlyList<TextRecord> Taken, long Budget, AlmostTokenizer Tokenizer, TinyWorldPipeline Pipeline)> Replay(double ratio)
    {
        var pipeline = new TinyWorldPipeline(PipelineOptions.Fast(Path.Combine(Path.GetTempPath(), "almost-replay-" + Guid.NewGuid().ToString("N"))) with { SftReplayRatio = ratio });
        var tokenizer = AlmostTokenizer.FromFolder(pipeline.World.ModelFolder("tiny"));
        var sft = new SftTokenizer(tokenizer);
        long budget = (long)Math.Ceiling(ratio * Dialogues.Sum(d => sft.Encode(d).TargetCount));
        return (await pipeline.ReplayDocumentsAsync(Dialogues, tokenizer), budget, tokenizer, pipeline);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.5)]
    public async Task The_shortest_prefix_of_the_sample_reaching_the_ratio_of_trained_tokens_is_replayed(double ratio)
    {
        var (taken, budget, tokenizer, pipeline) = await Replay(ratio);
        using var _ = pipeline;
        var sample = await pipeline.World.PretrainingSampleAsync();
        var sft = new SftTokenizer(tokenizer);
        long Tokens(IEnumerable<TextRecord> documents) => documents.Sum(d => (long)sft.Encode(d).InputIds.Length);

        taken.Should().Equal(sample.Take(taken.Count), "documents are taken in file order");
        Tokens(taken).Should().BeGreaterThanOrEqualTo(budget);
        Tokens(taken.SkipLast(1)).Should().BeLessThan(budget, "no document more than needed");
    }

    [Fact]
    public async Task Ratio_zero_replays_nothing_and_a_ratio_beyond_the_sample_is_an_error_naming_the_file()
    {
        var (none, _, tokenizer, pipeline) = await Replay(0);
        pipeline.Dispose();
        none.Should().BeEmpty();

        using var greedy = new TinyWorldPipeline(PipelineOptions.Fast(Path.Combine(Path.GetTempPath(), "almost-replay-" + Guid.NewGuid().ToString("N"))) with { SftReplayRatio = 10_000 });
        var act = () => greedy.ReplayDocumentsAsync(Dialogues, tokenizer);
        (await act.Should().ThrowAsync<InvalidDataException>()).WithMessage("*pretraining_sample.jsonl: SftReplayRatio 10000 asks for * replay tokens; the sample holds *");
    }
}
