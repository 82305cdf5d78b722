using Almost.Synthetic.Prompts;
using Almost.Synthetic.Ranking;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Ranking;

public sealed class RankingRubricTests
{
    [Fact]
    public void A_declared_order_ranks_best_first_and_equal_signs_tie()
    {
        var rubric = RankingRubric.Parse("A > B = C > D");

        rubric.Tiers.Should().BeEquivalentTo(new[] { new[] { "A" }, ["B", "C"], ["D"] }, o => o.WithStrictOrdering());
        rubric.RankOf("A").Should().Be(0);
        rubric.RankOf("C").Should().Be(1);
        rubric.RankOf("D").Should().Be(2);
        rubric.ToString().Should().Be("A > B = C > D");
        RankingRubric.Parse(rubric.ToString()).Tiers.Should().BeEquivalentTo(rubric.Tiers, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Several_chains_combine_into_one_order()
    {
        RankingRubric.Parse("B > C, A > B, C > D").ToString().Should().Be("A > B > C > D");
        RankingRubric.FromOrder(["x", "y", "z"]).ToString().Should().Be("x > y > z");
        RankingRubric.FromRelations(["p", "q", "r"], [("q", "r"), ("p", "q")]).ToString().Should().Be("p > q > r");
    }

    [Fact]
    public void A_cycle_is_an_error_that_names_it()
    {
        FluentActions.Invoking(() => RankingRubric.Parse("A > B > C > A"))
            .Should().Throw<RubricException>().WithMessage("*cycle*'A' > 'B'*'B' > 'C'*'C' > 'A'*");
        FluentActions.Invoking(() => RankingRubric.Parse("A > B, B > C, C > B, D > A"))
            .Should().Throw<RubricException>().WithMessage("*cycle*'B' > 'C', 'C' > 'B'*");
        FluentActions.Invoking(() => RankingRubric.FromOrder(["A", "B", "A"]))
            .Should().Throw<RubricException>().WithMessage("*cycle*'A' > 'B', 'B' > 'A'*");
        FluentActions.Invoking(() => RankingRubric.Parse("A = B, A > B"))
            .Should().Throw<RubricException>().WithMessage("*cycle*'A' > 'B'*declared equal*");
    }

    [Fact]
    public void Two_configurations_no_relation_orders_are_an_error_that_names_both()
    {
        FluentActions.Invoking(() => RankingRubric.Parse("A > B, A > C"))
            .Should().Throw<RubricException>().WithMessage("*cannot order 'B' and 'C'*");
        FluentActions.Invoking(() => RankingRubric.FromRelations(["A", "B", "X"], [("A", "B")]))
            .Should().Throw<RubricException>().WithMessage("*cannot order*'X'*");
    }

    [Fact]
    public void Unknown_and_empty_names_are_errors_that_say_which()
    {
        var rubric = RankingRubric.Parse("A > B");
        FluentActions.Invoking(() => rubric.RankOf("Z")).Should().Throw<RubricException>().WithMessage("*'Z'*not in the rubric 'A > B'*");
        FluentActions.Invoking(() => rubric.EnsureRanks(["A", "Q", "B", "R"])).Should().Throw<RubricException>().WithMessage("*'Q', 'R'*");
        FluentActions.Invoking(() => RankingRubric.Parse("A > > B")).Should().Throw<RubricException>().WithMessage("*empty configuration name*");
        FluentActions.Invoking(() => RankingRubric.FromRelations(["A"], [("A", "B")])).Should().Throw<RubricException>().WithMessage("*'B'*");
    }

    [Fact]
    public void The_rule_of_thumb_derives_size_then_shots_then_quality_where_every_trait_agrees()
    {
        var generator = new ScriptedGenerator((_, _, _, _) => "");
        var careful = new DemonstrationDialogues("careful", [Dialogue(), Dialogue(), Dialogue()]);
        PromptConfiguration Config(string name, double size, int shots, double quality) =>
            new() { Name = name, Generator = generator, ModelSize = size, Shots = shots, Demonstrations = careful, DemonstrationQuality = quality };

        var rubric = RankingRubric.Derive(
        [
            Config("small-3", 13, 3, 1), Config("large-3", 30, 3, 1), Config("small-2", 13, 2, 1), Config("small-0", 13, 0, 0),
        ]);
        rubric.ToString().Should().Be("large-3 > small-3 > small-2 > small-0");

        FluentActions.Invoking(() => RankingRubric.Derive([Config("large-1", 30, 1, 1), Config("small-3", 7, 3, 1)]))
            .Should().Throw<RubricException>().WithMessage("*cannot order 'large-1' and 'small-3'*'large-1' is better on model size*'small-3' on shots*");
        FluentActions.Invoking(() => RankingRubric.Derive([Config("a", 7, 0, 1), Config("b", 7, 0, 0)]))
            .Should().Throw<RubricException>().WithMessage("*cannot break the tie between 'a' and 'b'*", "0-shot prompts show no demonstration, so quality does not count");
        FluentActions.Invoking(() => RankingRubric.Derive([Config("a", 7, 1, 1), Config("b", 7, 1, 0) with { DemonstrationQuality = null }]))
            .Should().Throw<RubricException>().WithMessage("*'b' declare no demonstration quality*");
    }

    private static IReadOnlyList<Almost.Data.ChatMessage> Dialogue() =>
        [Almost.Data.ChatMessage.User("q"), Almost.Data.ChatMessage.Assistant("a.")];
}
