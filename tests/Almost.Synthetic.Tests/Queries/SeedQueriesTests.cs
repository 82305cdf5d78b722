using Almost.Synthetic.Queries;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Queries;

public sealed class SeedQueriesTests
{
    [Fact]
    public void A_file_in_the_reference_layout_gives_its_instruction_and_its_queries()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("seed_prompts.txt"),
            "### Instruction: Please generate initial query to start conversation with bot.\n" +
            "Can you help me figure out how to create an online store for my small business?\n" +
            "Can you explain how website analytics works?\n");

        var seeds = SeedQueries.Load(folder.File("seed_prompts.txt"));

        seeds.Instruction.Should().Be(QueryPromptFormat.DefaultInstruction);
        seeds.Queries.Should().Equal(
            "Can you help me figure out how to create an online store for my small business?", "Can you explain how website analytics works?");
        QueryPromptFormat.NumberedList(seeds.Instruction).Build(seeds.Queries)
            .Should().Be(QueryPromptFormat.DefaultInstruction + "\n1. " + seeds.Queries[0] + "\n2. " + seeds.Queries[1] + "\n3.");
    }

    [Fact]
    public void A_file_without_an_instruction_is_all_queries_and_an_empty_one_is_an_error()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("s.txt"), "first query here\n\n  second query here  \n");
        SeedQueries.Load(folder.File("s.txt")).Should().BeEquivalentTo(new SeedQueries(null, ["first query here", "second query here"]));

        File.WriteAllText(folder.File("e.txt"), "### Instruction: only this\n\n");
        FluentActions.Invoking(() => SeedQueries.Load(folder.File("e.txt"))).Should().Throw<InvalidDataException>().WithMessage("*e.txt*no seed query*");
    }
}
