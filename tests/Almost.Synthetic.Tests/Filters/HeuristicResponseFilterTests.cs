using Almost.Scoring;
using Almost.Synthetic.Filters;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Filters;

public sealed class HeuristicResponseFilterTests
{
    private const string Good = " The capital of Velora is Tamsin, a city on the river Oru in the north.";
    private static readonly HeuristicResponseFilter Reference = new();

    [Fact]
    public void A_long_complete_answer_passes_every_rule() =>
        Reference.Check("q", Good).Should().BeEmpty();

    [Theory]
    [InlineData(" The capital of Velora is Tamsin.", HeuristicRules.TooShort)]
    [InlineData(" Well, the capital of Velora is Tamsin, a city on the river Oru.", HeuristicRules.StartsWithWell)]
    [InlineData(" well the capital of Velora is Tamsin, a city on the river Oru.", HeuristicRules.StartsWithWell)]
    [InlineData(" The capital of Velora is Tamsin, a city on the river Oru in the", HeuristicRules.NoFinalPeriod)]
    [InlineData(" I don't know the capital of Velora, but it may be a city on a river.", HeuristicRules.DontKnow)]
    [InlineData(" I DON\u2019T KNOW the capital of Velora, but it may be a city on a river.", HeuristicRules.DontKnow)]
    [InlineData(" The capital of Velora is Tamsin, a city on the river.\nHuman: and Detil?.", HeuristicRules.HumanTurn)]
    public void Each_reference_rule_rejects_its_case_and_only_that_rule_fires(string response, string rule) =>
        Reference.Check("q", response).Should().Equal(rule);

    [Theory]
    [InlineData(" Could you tell me which of the capitals of the atlas you mean exactly?")]
    [InlineData(" Here are the capitals of the atlas that I know about, in order:")]
    public void Ending_with_a_question_or_a_colon_also_lacks_the_final_period(string response) =>
        Reference.Check("q", response).Should().Equal(HeuristicRules.EndsWithQuestionOrColon, HeuristicRules.NoFinalPeriod);

    [Fact]
    public void A_response_breaking_several_rules_gets_every_reason_in_rule_order() =>
        Reference.Check("q", " Well, I don't know:").Should().Equal(
            HeuristicRules.TooShort, HeuristicRules.EndsWithQuestionOrColon, HeuristicRules.StartsWithWell,
            HeuristicRules.NoFinalPeriod, HeuristicRules.DontKnow);

    [Fact]
    public void Starts_with_well_is_the_word_not_a_prefix() =>
        Reference.Check("q", " Wellington is the capital of a real country, not of Velora in the atlas.").Should().BeEmpty();

    [Fact]
    public void Minimum_length_counts_trimmed_characters_and_zero_switches_it_off()
    {
        string fifty = " " + new string('a', 49) + ".  ";
        Reference.Check("q", fifty).Should().BeEmpty("49 letters and a period are 50 characters after trimming");
        Reference.Check("q", fifty.Trim()[1..]).Should().Equal(HeuristicRules.TooShort);
        new HeuristicResponseFilter(new HeuristicFilterOptions { MinLength = 0 }).Check("q", " 7.").Should().BeEmpty();
    }

    [Fact]
    public void Every_rule_can_be_switched_off()
    {
        var off = new HeuristicResponseFilter(new HeuristicFilterOptions
        {
            MinLength = 0, RejectEndsWithQuestionOrColon = false, RejectStartsWithWell = false,
            RequireFinalPeriodOrExclamation = false, RejectDontKnow = false, RejectHumanTurn = false,
        });
        off.Check("q", " Well, I don't know. Human: what?").Should().BeEmpty();
        off.Check("q", "   ").Should().Equal(HeuristicRules.Empty);   // an empty response never passes
    }

    [Fact]
    public void Negative_minimum_length_is_rejected() =>
        FluentActions.Invoking(() => new HeuristicResponseFilter(new HeuristicFilterOptions { MinLength = -1 }))
            .Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void A_chain_reports_the_reasons_of_every_filter_once()
    {
        var chain = new ResponseFilterChain(new HeuristicResponseFilter(), new MentionsFilter("Tamsin"), new HeuristicResponseFilter());
        chain.Check("q", " Tamsin?").Should().Equal(HeuristicRules.TooShort, HeuristicRules.EndsWithQuestionOrColon, HeuristicRules.NoFinalPeriod, "mentions Tamsin");
        ResponseFilterChain.PassAll.Check("q", " Well?").Should().BeEmpty();
    }

    private sealed class MentionsFilter(string word) : IResponseFilter
    {
        public IReadOnlyList<string> Check(string query, string response) =>
            response.Contains(word, StringComparison.Ordinal) ? [$"mentions {word}"] : [];
    }
}
