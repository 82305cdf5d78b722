using Almost.Synthetic.Queries;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Queries;

public sealed class RougeLTests
{
    [Fact]
    public void Tokens_are_lower_cased_runs_of_letters_and_digits() =>
        RougeL.Tokenize("What's 3+4? Tell ME, now!").Should().Equal("what", "s", "3", "4", "tell", "me", "now");

    [Theory]
    // "the cat sat on the mat" vs "the cat on the mat": LCS "the cat on the mat" = 5; P = 5/6, R = 5/5, F = 10/11.
    [InlineData("the cat sat on the mat", "the cat on the mat", 5, 5.0 / 6, 1.0, 10.0 / 11)]
    // LCS of "a b c d e" and "e d c b a" is 1 (any single token): P = R = F = 1/5.
    [InlineData("a b c d e", "e d c b a", 1, 0.2, 0.2, 0.2)]
    // "police killed the gunman" vs "the gunman killed police" (Lin 2004): LCS "the gunman" = 2 → 0.5 each.
    [InlineData("police killed the gunman", "the gunman killed police", 2, 0.5, 0.5, 0.5)]
    // "What is 3 plus 4?" vs "What is 13 plus 4?": LCS "what is plus 4" = 4 of 5 and 5 → 0.8.
    [InlineData("What is 3 plus 4?", "What is 13 plus 4?", 4, 0.8, 0.8, 0.8)]
    // "Can you add 3 and 4?" (6) vs "What is 3 plus 4?" (5): LCS "3 4" = 2; P = 2/6, R = 2/5, F = 2·(1/3)(2/5)/(1/3+2/5) = 4/11.
    [InlineData("Can you add 3 and 4?", "What is 3 plus 4?", 2, 1.0 / 3, 0.4, 4.0 / 11)]
    // Nothing in common.
    [InlineData("sort the list", "capital of Velora", 0, 0.0, 0.0, 0.0)]
    public void Score_matches_hand_computed_values(string candidate, string reference, int lcs, double precision, double recall, double f1)
    {
        RougeL.LongestCommonSubsequence(RougeL.Tokenize(candidate), RougeL.Tokenize(reference)).Should().Be(lcs);
        var score = RougeL.Score(candidate, reference);
        score.Precision.Should().BeApproximately(precision, 1e-12);
        score.Recall.Should().BeApproximately(recall, 1e-12);
        score.F1.Should().BeApproximately(f1, 1e-12);
    }

    [Fact]
    public void F1_is_symmetric_and_an_empty_text_scores_zero()
    {
        RougeL.Score("the cat on the mat", "the cat sat on the mat").F1.Should().BeApproximately(10.0 / 11, 1e-12);
        RougeL.Score("", "anything").Should().Be(new RougeLScore(0, 0, 0));
        RougeL.Score("?!", "anything").Should().Be(new RougeLScore(0, 0, 0));
    }
}
