using Almost.Synthetic.Queries;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Queries;

public sealed class NgramDecontaminatorTests
{
    private static readonly string[] Benchmark =
    [
        "What is 3 plus 4?",
        "Can you explain how website analytics works for a small online store in simple terms?",
    ];

    [Theory]
    [InlineData("what is 3 plus 4", "What is 3 plus 4?")]                 // a copy, normalised (case, punctuation)
    [InlineData("  WHAT is 3   plus 4 !!", "What is 3 plus 4?")]
    [InlineData("Quick one: what is 3 plus 4? Thanks.", "What is 3 plus 4?")]   // a short prompt inside a query
    [InlineData("3 plus 4", "What is 3 plus 4?")]                          // a short query inside a prompt
    [InlineData("Please explain how website analytics works for a small online store, step by step.",
        "Can you explain how website analytics works for a small online store in simple terms?")]   // a shared 8-gram
    public void Overlapping_queries_are_found_with_the_prompt_they_overlap(string query, string prompt) =>
        new NgramDecontaminator(Benchmark, ngramSize: 8).FindOverlap(query).Should().Be(prompt);

    [Theory]
    [InlineData("What is 13 plus 4?")]                                     // one token differs
    [InlineData("Can you add 3 and 4?")]                                   // a paraphrase: no n-gram check catches it
    [InlineData("How does website analytics work for a big store?")]      // shares fewer than 8 words in a row
    public void Queries_without_an_overlap_are_clean(string query) =>
        new NgramDecontaminator(Benchmark, ngramSize: 8).FindOverlap(query).Should().BeNull();

    [Fact]
    public void The_default_13_gram_treats_short_queries_as_whole_texts_and_ignores_shared_boilerplate()
    {
        var check = new NgramDecontaminator(Benchmark);
        check.NgramSize.Should().Be(13);
        check.FindOverlap("what is 3 plus 4").Should().Be(Benchmark[0]);
        check.FindOverlap("Please explain how website analytics works for a small online store, step by step.")
            .Should().BeNull("8 shared words are boilerplate at n = 13");
    }

    [Fact]
    public void A_smaller_n_catches_shorter_shared_runs()
    {
        const string query = "How does website analytics work for a big store?";
        new NgramDecontaminator(Benchmark, ngramSize: 3).FindOverlap("Tell me how website analytics works today.")
            .Should().Be(Benchmark[1]);
        new NgramDecontaminator(Benchmark, ngramSize: 3).FindOverlap(query).Should().BeNull("'website analytics work' is not in the prompt");
        FluentActions.Invoking(() => new NgramDecontaminator(Benchmark, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
