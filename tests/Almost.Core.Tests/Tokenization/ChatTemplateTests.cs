using Almost.Data;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

public class ChatTemplateTests
{
    private static readonly ChatMessage[] s_dialogue =
    [
        ChatMessage.System("Below is a dialogue."),
        ChatMessage.User("What is 2+2?"),
        ChatMessage.Assistant("4."),
        ChatMessage.User("Thanks!"),
    ];

    [Fact]
    public void Transcript_template_writes_human_and_assistant_turns_after_the_preamble()
    {
        var template = TranscriptChatTemplate.Instance;

        template.Format(s_dialogue, addGenerationPrompt: true).Should().Be(
            "Below is a dialogue.\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: Thanks!\n\nAssistant:");
        template.Format(s_dialogue[1..3], addGenerationPrompt: false).Should().Be(
            "\n\nHuman: What is 2+2?\n\nAssistant: 4.");
        template.StopStrings.Should().Equal("\n\nHuman:");
    }

    [Fact]
    public void Transcript_template_rejects_unknown_roles_and_late_system_messages()
    {
        var template = TranscriptChatTemplate.Instance;

        Action role = () => template.Format([new ChatMessage("tool", "x")], false);
        Action late = () => template.Format([ChatMessage.User("hi"), ChatMessage.System("late")], false);

        role.Should().Throw<ArgumentException>().WithMessage("*messages[0]*'tool'*");
        late.Should().Throw<ArgumentException>().WithMessage("*messages[1]*first message*");
    }

    [Fact]
    public void ChatML_template_wraps_each_message_in_im_start_and_im_end()
    {
        var template = ChatMLTemplate.Instance;

        template.Format(s_dialogue, addGenerationPrompt: true).Should().Be(
            "<|im_start|>system\nBelow is a dialogue.<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            + "<|im_start|>assistant\n4.<|im_end|>\n"
            + "<|im_start|>user\nThanks!<|im_end|>\n"
            + "<|im_start|>assistant\n");
        template.Format([ChatMessage.User("hi")], addGenerationPrompt: false).Should().Be("<|im_start|>user\nhi<|im_end|>\n");
        template.StopStrings.Should().Equal("<|im_end|>");
    }

    [Fact]
    public void ChatML_markers_encode_to_single_special_ids()
    {
        AlmostTokenizer tokenizer = TokenizerLoader.FromByteLevelBpe(TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials);

        int[] ids = tokenizer.Encode(ChatMLTemplate.Instance.Format([ChatMessage.User("Hello")], addGenerationPrompt: true));

        ids.Count(id => id == TinyByteLevelBpe.ImStart).Should().Be(2);
        ids.Count(id => id == TinyByteLevelBpe.ImEnd).Should().Be(1);
        tokenizer.Decode(ids).Should().Be("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    }
}
