using Almost.Data;
using Almost.Scoring;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Scoring;

public sealed class PairwiseEvaluationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-pairwise-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Scores a response by its length.</summary>
    private sealed class LengthRewardModel : IRewardModel
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<double>>(inputs.Select(i => (double)i.Response.Length).ToArray());
    }

    private static PreferenceRecord Pair(string chosen, string rejected) => new() { Prompt = "p", Chosen = chosen, Rejected = rejected };

    [Fact]
    public async Task Accuracy_counts_strict_wins_ties_as_wrong_and_reports_means_per_category()
    {
        PreferenceRecord[] pairs = [Pair("long", "s"), Pair("abc", "xyz"), Pair("a", "bbbb"), Pair("longer", "ab")];

        var result = await PairwiseEvaluation.EvaluateAsync(new LengthRewardModel(), pairs, ["x", "y", "x", "y"]);

        result.Overall.Should().Be(new PairwiseAccuracy(4, 2, 1, 3.5, 2.5, 1.0));
        result.Overall.Accuracy.Should().Be(0.5);
        result.ByCategory.Keys.Should().Equal("x", "y");
        result.ByCategory["x"].Should().Be(new PairwiseAccuracy(2, 1, 0, 2.5, 2.5, 0));
        result.ByCategory["y"].Correct.Should().Be(1);
        result.ByCategory["y"].Ties.Should().Be(1);
    }

    [Fact]
    public void The_confidence_interval_narrows_with_more_pairs()
    {
        var small = new PairwiseAccuracy(20, 15, 0, 0, 0, 0).Confidence95;
        var large = new PairwiseAccuracy(2000, 1500, 0, 0, 0, 0).Confidence95;

        small.Lower.Should().BeApproximately(0.531, 0.002);
        small.Upper.Should().BeApproximately(0.888, 0.002);
        (large.Upper - large.Lower).Should().BeLessThan(0.04);
        large.Lower.Should().BeLessThan(0.75).And.BeGreaterThan(0.73);
    }

    [Fact]
    public async Task A_preference_jsonl_file_is_evaluated_with_its_category_field()
    {
        var path = Path.Combine(_dir, "prefs.jsonl");
        File.WriteAllLines(path,
        [
            """{"prompt":"p","chosen":"long","rejected":"s","type":"a"}""",
            """{"prompt":"p","chosen":"s","rejected":"long","type":"b"}""",
        ]);

        var result = await PairwiseEvaluation.EvaluateFileAsync(new LengthRewardModel(), path, categoryField: "type");

        result.Overall.Accuracy.Should().Be(0.5);
        result.ByCategory["a"].Accuracy.Should().Be(1);
        result.ByCategory["b"].Accuracy.Should().Be(0);
    }

    [Fact]
    public async Task A_malformed_line_or_a_missing_category_names_the_file_and_line()
    {
        var path = Path.Combine(_dir, "prefs.jsonl");
        File.WriteAllLines(path, ["""{"prompt":"p","chosen":"c","rejected":"r","type":"a"}""", """{"prompt":"p","chosen":"c","rejected":""}"""]);

        var empty = () => PairwiseEvaluation.EvaluateFileAsync(new LengthRewardModel(), path);
        (await empty.Should().ThrowAsync<JsonlFormatException>()).Which.Message.Should().EndWith("prefs.jsonl line 2: field 'rejected' is empty (expected a non-empty response)");

        File.WriteAllLines(path, ["""{"prompt":"p","chosen":"c","rejected":"r","type":"a"}""", """{"prompt":"p","chosen":"c","rejected":"r"}"""]);
        var noCategory = () => PairwiseEvaluation.EvaluateFileAsync(new LengthRewardModel(), path, "type");
        (await noCategory.Should().ThrowAsync<JsonlFormatException>()).Which.Message.Should().EndWith("prefs.jsonl line 2: missing category field 'type' (expected a string)");
    }

    [Fact]
    public async Task Static_hhh_has_221_pairs_in_four_categories_with_one_shared_context_each()
    {
        var path = Path.Combine(RepositoryRoot(), "..", "shared", "data", "almost-eval", "hhh_eval.json");

        var pairs = StaticHhhEval.Load(path);

        pairs.Should().HaveCount(221);
        StaticHhhEval.Categories.Select(c => pairs.Count(p => p.Category == c)).Should().Equal(59, 58, 61, 43);
        pairs.Should().OnlyContain(p => p.Prompt.StartsWith("\n\nHuman:") && p.Prompt.EndsWith("\n\nAssistant:") && p.Chosen != p.Rejected);
        pairs[0].Chosen.Should().StartWith(" Dear Sir,");

        var result = await StaticHhhEval.EvaluateAsync(new LengthRewardModel(), path);
        result.Overall.Pairs.Should().Be(221);
        result.ByCategory.Keys.Should().BeEquivalentTo(StaticHhhEval.Categories);
    }

    [Theory]
    [InlineData("""{"rows":[]}""", "expected a JSON array")]
    [InlineData("""[{"chosen":"\n\nHuman: a\n\nAssistant: b","type":"helpful"}]""", "item 0: missing field 'rejected'")]
    [InlineData("""[{"chosen":"\n\nHuman: a\n\nAssistant: b","rejected":3,"type":"helpful"}]""", "item 0: field 'rejected' is Number; expected a string")]
    [InlineData("""[{"chosen":"\n\nHuman: a\n\nAssistant: b","rejected":"\n\nHuman: z\n\nAssistant: c","type":"x"}]""", "item 0: 'chosen' and 'rejected' differ before")]
    [InlineData("""[{"chosen":"\n\nHuman: a","rejected":"\n\nHuman: a\n\nAssistant: c","type":"x"}]""", "item 0: field 'chosen' has no")]
    public void Malformed_static_hhh_items_are_named(string json, string problem)
    {
        var path = Path.Combine(_dir, "hhh.json");
        File.WriteAllText(path, json);

        var act = () => StaticHhhEval.Load(path);

        act.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(path).And.Contain(problem);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Almost.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Almost.sln not found above the test folder.");
    }
}
