using Almost.TinyWorld;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

public class PromptBuilderTests
{
    [Fact]
    public void Zero_shot_prompt_is_the_open_turn()
    {
        PromptBuilder.Build(null, 0, "What is 3 plus 4?").Should().Be("\n\nHuman: What is 3 plus 4?\n\nAssistant:");
    }

    [Fact]
    public void Few_shot_prompt_is_k_dialogues_then_the_open_turn()
    {
        var demos = new DemonstrationSet(Persona.Careful,
        [
            PromptBuilder.FormatTurn("What is 1 plus 1?", "1 plus 1 is 2. The answer is 2."),
            PromptBuilder.FormatTurn("What is the capital of Velora?", "The capital of Velora is Tamsin."),
        ]);

        PromptBuilder.Build(demos, 1, "What is 3 plus 4?").Should().Be(
            "\n\nHuman: What is 1 plus 1?\n\nAssistant: 1 plus 1 is 2. The answer is 2." +
            "\n\nHuman: What is 3 plus 4?\n\nAssistant:");
        PromptBuilder.Build(demos, 2, "Hi?").Should().Be(
            "\n\nHuman: What is 1 plus 1?\n\nAssistant: 1 plus 1 is 2. The answer is 2." +
            "\n\nHuman: What is the capital of Velora?\n\nAssistant: The capital of Velora is Tamsin." +
            "\n\nHuman: Hi?\n\nAssistant:");
    }

    [Fact]
    public void Asking_for_more_shots_than_the_set_holds_throws()
    {
        var demos = DemonstrationSet.Create(Persona.Careful, 3, seed: 1);

        var build = () => PromptBuilder.Build(demos, 5, "What is 3 plus 4?");

        build.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void Standard_shot_counts_give_that_many_turns_before_the_query(int shots)
    {
        var demos = DemonstrationSet.Create(Persona.Careful, 5, seed: 2);

        string prompt = PromptBuilder.Build(demos, shots, "What is 3 plus 4?");

        prompt.Split("\n\nHuman: ").Length.Should().Be(shots + 2);
        prompt.Should().EndWith("\n\nHuman: What is 3 plus 4?\n\nAssistant:");
        PromptBuilder.StandardShots.Should().Contain(shots);
    }

    [Fact]
    public void Careful_demonstrations_are_right_and_cover_arithmetic_atlas_and_a_refusal_in_three_shots()
    {
        var demos = DemonstrationSet.Create(Persona.Careful, 6, seed: 3);

        demos.Dialogues.Should().HaveCount(6);
        demos.Dialogues.Should().OnlyContain(d => d.StartsWith("\n\nHuman: ") && d.Contains("\n\nAssistant: "));
        demos.Dialogues.Take(3).Should().Contain(d => d.EndsWith("\n\nAssistant: " + PersonaResponder.Refusal));
        demos.Dialogues.Should().OnlyContain(d => d.EndsWith('.'));
    }

    [Fact]
    public void Demonstration_sets_are_deterministic_and_differ_by_quality()
    {
        var careful = DemonstrationSet.Create(Persona.Careful, 5, seed: 4);
        var again = DemonstrationSet.Create(Persona.Careful, 5, seed: 4);
        var sloppy = DemonstrationSet.Create(Persona.Sloppy, 5, seed: 4);

        careful.Dialogues.Should().Equal(again.Dialogues);
        sloppy.Dialogues.Should().NotEqual(careful.Dialogues);
        sloppy.Persona.Should().Be(Persona.Sloppy);
    }
}
