using Almost.Data;
using Almost.Generation;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.Filters;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Queries;
using Almost.Synthetic.Ranking;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Comparisons;

public sealed class ComparisonBuilderTests
{
    private static readonly RankingRubric Abcd = RankingRubric.Parse("A > B > C > D");
    private static readonly PairingOptions NoGuard = new() { LengthGuard = false };
    private static readonly HeuristicResponseFilter Lenient = new(new HeuristicFilterOptions { MinLength = 0 });

    private static QueryResponses Query(string id, params (string Configuration, string Text)[] responses) =>
        new(new SyntheticQuery(id, $"query {id}"), $"\n\nHuman: query {id}\n\nAssistant:",
            responses.Select(r => new ConfigurationResponse(r.Configuration, r.Text, FinishReason.Stop)).ToList());

    private static IEnumerable<string> Pairs(PairingResult result) => result.Comparisons.Select(c => $"{c.ChosenConfiguration}>{c.RejectedConfiguration}");

    [Fact]
    public void Adjacent_ranks_chain_with_metadata_and_the_trl_fields()
    {
        var result = new ComparisonBuilder(Abcd, null, NoGuard).Build(
            [Query("q1", ("C", " c."), ("A", " a."), ("D", " d."), ("B", " b."))]);

        Pairs(result).Should().Equal("A>B", "B>C", "C>D");
        var first = result.Comparisons[0];
        first.Should().BeEquivalentTo(new
        {
            Id = "q1:A>B", Prompt = "\n\nHuman: query q1\n\nAssistant:", Chosen = " a.", Rejected = " b.", QueryId = "q1",
            Query = "query q1", ChosenRank = 0, RejectedRank = 1,
        });
        first.GuardSkipped.Should().BeNull();
        first.Dropped.Should().BeNull();
        result.Statistics.Should().BeEquivalentTo(new { Queries = 1, Responses = 4, DroppedResponses = 0, QueriesWithoutComparison = 0, GuardSkips = 0, Comparisons = 3 });
    }

    [Fact]
    public void Tied_configurations_are_never_paired_and_a_rank_is_chosen_once()
    {
        var rubric = RankingRubric.Parse("A = A2 > B = B2 > C");
        var result = new ComparisonBuilder(rubric, null, NoGuard).Build(
            [Query("q", ("A", " a."), ("A2", " a2."), ("B", " b."), ("B2", " b2."), ("C", " c."))]);

        Pairs(result).Should().Equal("A>B", "B>C");
    }

    [Fact]
    public void One_configuration_only_or_one_tier_only_makes_no_comparison()
    {
        var builder = new ComparisonBuilder(RankingRubric.Parse("A > B = B2"), null, NoGuard);
        var result = builder.Build([Query("single", ("A", " a.")), Query("tied", ("B", " b."), ("B2", " b2.")), Query("none")]);

        result.Comparisons.Should().BeEmpty();
        result.Statistics.QueriesWithoutComparison.Should().Be(3);
    }

    [Fact]
    public void Filtered_responses_drop_out_of_the_chain_and_their_reasons_travel_with_the_comparisons()
    {
        var result = new ComparisonBuilder(Abcd, Lenient, NoGuard).Build(
            [Query("q", ("A", " a."), ("B", " Well, b?"), ("C", " c."), ("D", "  "))]);

        Pairs(result).Should().Equal("A>C");
        result.Comparisons[0].Dropped.Should().BeEquivalentTo(new Dictionary<string, IReadOnlyList<string>>
        {
            ["B"] = [HeuristicRules.EndsWithQuestionOrColon, HeuristicRules.StartsWithWell, HeuristicRules.NoFinalPeriod],
            ["D"] = [HeuristicRules.Empty],
        });
        result.Statistics.DroppedResponses.Should().Be(2);
        result.Statistics.DroppedByReason.Should().Contain(HeuristicRules.StartsWithWell, 1).And.Contain(HeuristicRules.Empty, 1);
    }

    [Fact]
    public void Everything_filtered_makes_no_comparison()
    {
        var result = new ComparisonBuilder(Abcd, new HeuristicResponseFilter(), NoGuard).Build(
            [Query("q", ("A", " short."), ("B", " also short."), ("C", " tiny"))]);

        result.Comparisons.Should().BeEmpty();
        result.Statistics.DroppedResponses.Should().Be(3);
        result.Statistics.QueriesWithoutComparison.Should().Be(1);
    }

    [Fact]
    public void The_length_guard_skips_a_short_chosen_response_and_falls_through_to_the_next_rank()
    {
        // Lengths 12, 40, 10, 40: mean 25.5, std sqrt((13.5² + 14.5² + 15.5² + 14.5²) / 4) = 14.52, threshold 18.24.
        string a = new('a', 12), b = new('b', 40), c = new('c', 10), d = new('d', 40);
        var query = Query("q", ("A", a), ("B", b), ("C", c), ("D", d));

        var guarded = new ComparisonBuilder(Abcd, null).Build([query]);

        // A (12 < threshold) is shorter than B, so A>B is skipped and A>C is taken (A is longer than C); B>C is fine;
        // C (10 < threshold) is shorter than D, so C>D is skipped and C is never chosen.
        Pairs(guarded).Should().Equal("A>C", "B>C");
        guarded.Comparisons[0].GuardSkipped.Should().Equal("B");
        guarded.Statistics.GuardSkips.Should().Be(2);

        Pairs(new ComparisonBuilder(Abcd, null, NoGuard).Build([query])).Should().Equal("A>B", "B>C", "C>D");
    }

    [Fact]
    public void The_guard_spares_a_short_chosen_response_above_the_threshold()
    {
        // Lengths 30, 31: mean 30.5, std 0.5, threshold 30.25: A (30) is shorter than B and below it, so it is guarded.
        var close = Query("q", ("A", new string('a', 30)), ("B", new string('b', 31)));
        new ComparisonBuilder(Abcd, null).Build([close]).Comparisons.Should().BeEmpty();

        // Lengths 30, 31, 10: mean 23.7, threshold 18.8: A (30) is above it and may be shorter than B.
        var spread = Query("q", ("A", new string('a', 30)), ("B", new string('b', 31)), ("C", new string('c', 10)));
        Pairs(new ComparisonBuilder(Abcd, null).Build([spread])).Should().Equal("A>B", "B>C");
    }

    [Fact]
    public void A_configuration_outside_the_rubric_is_an_error_that_names_it() =>
        FluentActions.Invoking(() => new ComparisonBuilder(Abcd).Build([Query("q", ("A", " a."), ("Z", " z."))]))
            .Should().Throw<RubricException>().WithMessage("*'Z'*");

    [Fact]
    public async Task Comparisons_round_trip_as_trl_preference_jsonl_with_metadata()
    {
        using var folder = new TempFolder();
        var result = new ComparisonBuilder(Abcd, Lenient, NoGuard).Build([Query("q", ("A", " a."), ("B", " b?"), ("C", " c."))]);
        await ComparisonBuilder.WriteAsync(folder.File("c.jsonl"), result.Comparisons);

        var back = await ComparisonBuilder.ReadAsync(folder.File("c.jsonl"));
        back.Should().BeEquivalentTo(result.Comparisons);
        var trl = (await JsonlReader.ReadAllAsync<PreferenceRecord>(folder.File("c.jsonl"))).Records.Single();
        trl.Chosen.Should().Be(" a.");
        trl.Rejected.Should().Be(" c.");
        trl.Extra!.Keys.Should().Contain(["chosen_configuration", "rejected_configuration", "chosen_rank", "rejected_rank", "dropped"]);
    }
}
