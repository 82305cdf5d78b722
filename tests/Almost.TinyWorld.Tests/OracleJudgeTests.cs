using Almost.Scoring;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

public class OracleJudgeTests
{
    [Fact]
    public async Task The_judge_prefers_what_the_oracle_scores_higher_reading_the_query_from_the_prompt()
    {
        var judge = new OracleJudge();
        string prompt = AlmostTranscript.FormatTurn("Hi", "Hello.") + AlmostTranscript.FormatPrompt("What is 3 plus 4?");

        var verdicts = await judge.JudgeAsync(
        [
            new PreferenceQuestion(prompt, " 3 plus 4 is 7. The answer is 7.", " 3 plus 4 is 8."),
            new PreferenceQuestion(prompt, " It is 9, idiot", " The answer is 7."),
            new PreferenceQuestion(prompt, " The answer is 7.", " The answer is 7. "),
            new PreferenceQuestion(AlmostTranscript.FormatPrompt("Tell me a joke."), " A joke.", " No."),
        ]);

        verdicts.Select(v => v.Preferred).Should().Equal(PreferredResponse.A, PreferredResponse.B, PreferredResponse.Tie, PreferredResponse.Tie);
        verdicts[0].Margin.Should().BeGreaterThan(0.4);
        verdicts[0].Reason.Should().Contain("Arithmetic|add|3|4");
        verdicts[1].Margin.Should().BeNegative();
        verdicts[3].Reason.Should().Be(OracleJudge.Ungradable);
        verdicts[3].Margin.Should().BeNull();
    }

    [Fact]
    public void Demonstration_dialogues_become_messages_that_format_back_to_the_same_text()
    {
        var set = DemonstrationSet.Create(Persona.Careful, 5, seed: 5, turnsPerDialogue: 2);
        var messages = DemonstrationTranscripts.ToMessages(set);

        messages.Should().HaveCount(5);
        messages.Should().OnlyContain(m => m.Count == 4);
        messages.Select(m => AlmostTranscript.Format(m, addGenerationPrompt: false)).Should().Equal(set.Dialogues);
    }
}
