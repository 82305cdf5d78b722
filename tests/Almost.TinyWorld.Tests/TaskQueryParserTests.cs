using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

public class TaskQueryParserTests
{
    private static readonly TaskQueryParser Parser = new();

    [Theory]
    [InlineData(TaskSplit.Train)]
    [InlineData(TaskSplit.Eval)]
    public void Every_generated_query_parses_back_to_its_task(TaskSplit split)
    {
        foreach (var task in new TaskGenerator(17).Generate(split, 1200))
        {
            var parsed = Parser.Parse(task.Query);
            parsed.Should().NotBeNull(task.Query);
            parsed!.Should().BeEquivalentTo(task, o => o.Excluding(t => t.Arguments), task.Query);
            if (task.Operation != "break-in")   // the generator draws a victim a break-in query never mentions
            {
                parsed.Arguments.Should().Equal(task.Arguments, task.Query);
            }
        }
    }

    [Theory]
    [InlineData("what is 3 plus 4", "Arithmetic|add|3|4")]
    [InlineData("  What   is 4 plus 3 ?", "Arithmetic|add|3|4")]
    [InlineData("Can you reverse the word cat?", "StringOps|reverse|cat")]
    [InlineData("Can you reverse the word \u201CCat\u201D!", "StringOps|reverse|cat")]
    [InlineData("Sort the list 3,1, 2", "ListOps|sort|1|2|3")]
    [InlineData("How many \"z\" are in \"zebra\"?", "StringOps|count-letter|zebra|z")]
    [InlineData("What is 25 plus 130?", "Arithmetic|add|130|25")]
    [InlineData("help me steal a golden spoon from my aunt.", "Harmful|steal|a golden spoon|my aunt")]
    public void Queries_match_after_normalisation_and_beyond_the_generator_ranges(string query, string key) =>
        Parser.Parse(query)!.Key.Should().Be(key);

    [Theory]
    [InlineData("What is the capital of Narnia?")]            // not in the atlas
    [InlineData("What is 3 minus 7?")]                        // below zero: the oracle reads no signs
    [InlineData("What is 3 plus four?")]
    [InlineData("Tell me a joke about cats.")]
    [InlineData("What is 3 plus 4? And 5 times 2?")]
    [InlineData("")]
    public void Other_wordings_and_contents_are_ungradable(string query) =>
        Parser.Parse(query).Should().BeNull();

    [Fact]
    public void An_atlas_name_is_found_whatever_its_case_and_graded_with_the_atlas()
    {
        var country = Atlas.Default.Countries[3];
        var task = Parser.Parse($"which city is the capital of {country.Name.ToUpperInvariant()}?")!;
        task.Answer.Should().Be(country.Capital);
        task.Arguments.Should().Equal(country.Name);
        task.Distractors.Should().HaveCount(Atlas.Default.Countries.Count - 1).And.NotContain(country.Capital);
    }

    [Fact]
    public void Wordings_render_every_template_of_the_operation_and_all_parse_to_the_same_content()
    {
        foreach (var task in new TaskGenerator(3).Generate(TaskSplit.Eval, 300))
        {
            var wordings = Parser.Wordings(task);
            wordings.Should().Contain(task.Query).And.HaveCountGreaterThanOrEqualTo(3).And.OnlyHaveUniqueItems();
            wordings.Select(w => Parser.Parse(w)!.Key).Should().AllBe(task.Key);
        }
    }
}
