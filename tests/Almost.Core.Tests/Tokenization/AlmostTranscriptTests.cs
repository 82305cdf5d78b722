using Almost.Data;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

public sealed class AlmostTranscriptTests
{
    [Fact]
    public void Turns_and_prompts_use_the_paper_format()
    {
        AlmostTranscript.FormatTurn("What is 2 plus 3?", "5.").Should().Be("\n\nHuman: What is 2 plus 3?\n\nAssistant: 5.");
        AlmostTranscript.FormatPrompt("Hi").Should().Be("\n\nHuman: Hi\n\nAssistant:");
        AlmostTranscript.StopStrings.Should().Equal("\n\nHuman:");
    }

    [Fact]
    public void Format_of_messages_equals_the_turn_helpers_and_the_chat_template()
    {
        ChatMessage[] messages = [ChatMessage.User("a"), ChatMessage.Assistant("b"), ChatMessage.User("c")];
        var text = AlmostTranscript.Format(messages, addGenerationPrompt: true);
        text.Should().Be(AlmostTranscript.FormatTurn("a", "b") + AlmostTranscript.FormatPrompt("c"));
        TranscriptChatTemplate.Instance.Format(messages, addGenerationPrompt: true).Should().Be(text);
    }

    [Fact]
    public void Last_user_turn_and_reply_cutting_read_the_format_back()
    {
        var prompt = AlmostTranscript.FormatTurn("first", "one.") + AlmostTranscript.FormatPrompt("second question");
        AlmostTranscript.LastUserTurn(prompt).Should().Be("second question");
        AlmostTranscript.LastUserTurn("no turns here").Should().BeNull();
        AlmostTranscript.CutReply(" The answer is 4.\n\nHuman: thanks").Should().Be("The answer is 4.");
        AlmostTranscript.CutReply(" plain ").Should().Be("plain");
    }
}
