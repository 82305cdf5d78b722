using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Rlhf.Dpo;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Rlhf.Tests.Dpo;

public class ConversationalPreferenceTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");

    private static ChatMessage User(string content) => ChatMessage.User(content);

    private static ChatMessage Assistant(string content) => ChatMessage.Assistant(content);

    private static void ShouldEqual(DpoExample actual, DpoExample expected)
    {
        actual.PromptIds.Should().Equal(expected.PromptIds, "prompt tokens = the rendered prompt with the generation prompt");
        actual.ChosenIds.Should().Equal(expected.ChosenIds, "completion tokens = the assistant turn and its end");
        actual.RejectedIds.Should().Equal(expected.RejectedIds);
    }

    [Fact]
    public void A_conversational_record_tokenizes_to_the_ids_of_the_plain_record_rendered_by_hand()
    {
        var conversational = new ConversationalPreferenceRecord
        {
            Prompt = [ChatMessage.System("Be brief."), User("Hello world"), Assistant("Hello."), User("the in")],
            Chosen = [Assistant("the world.")],
            Rejected = [Assistant("Hello Hello")],
        };
        var byHand = new PreferenceRecord
        {
            Prompt = "Be brief.\n\nHuman: Hello world\n\nAssistant: Hello.\n\nHuman: the in\n\nAssistant:",
            Chosen = " the world.",
            Rejected = " Hello Hello",
        };

        var actual = DpoTrainer.Tokenize([conversational], Tokenizer, maxLength: 64).Single();
        var expected = DpoTrainer.Tokenize([byHand], Tokenizer, maxLength: 64).Single();

        ShouldEqual(actual, expected);
        actual.ChosenIds[^1].Should().Be(TinyByteLevelBpe.EndOfText, "the completion ends the turn with EOS, as SFT trains it");
        DpoTrainer.RenderConversation(conversational).Should().BeEquivalentTo(byHand);
    }

    [Fact]
    public void A_chat_template_renders_the_closing_markup_into_the_completion()
    {
        var conversational = new ConversationalPreferenceRecord
        {
            Prompt = [User("Hello")],
            Chosen = [Assistant("Hello world")],
            Rejected = [Assistant("in")],
        };
        var byHand = new PreferenceRecord
        {
            Prompt = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
            Chosen = "Hello world<|im_end|>\n",
            Rejected = "in<|im_end|>\n",
        };

        var actual = DpoTrainer.Tokenize([conversational], Tokenizer, 64, ChatMLTemplate.Instance).Single();

        ShouldEqual(actual, DpoTrainer.Tokenize([byHand], Tokenizer, 64).Single());
        actual.ChosenIds[^3..].Should().Equal([TinyByteLevelBpe.ImEnd, Tokenizer.Encode("\n").Single(), TinyByteLevelBpe.EndOfText],
            "the assistant turn's <|im_end|> and newline, then EOS");
    }

    [Fact]
    public void The_implicit_prompt_form_takes_the_shared_turns_as_the_prompt()
    {
        var explicitForm = new ConversationalPreferenceRecord
        {
            Prompt = [User("Hello world"), Assistant("Hello."), User("the in")],
            Chosen = [Assistant("the world.")],
            Rejected = [Assistant("Hello Hello")],
        };
        var implicitForm = new ConversationalPreferenceRecord
        {
            Chosen = [User("Hello world"), Assistant("Hello."), User("the in"), Assistant("the world.")],
            Rejected = [User("Hello world"), Assistant("Hello."), User("the in"), Assistant("Hello Hello")],
        };

        var (prompt, chosen, rejected) = implicitForm.ExtractPrompt();

        prompt.Should().Equal(explicitForm.Prompt!);
        (chosen, rejected).Should().Be((explicitForm.Chosen[0], explicitForm.Rejected[0]));
        ShouldEqual(DpoTrainer.Tokenize([implicitForm], Tokenizer, 64).Single(), DpoTrainer.Tokenize([explicitForm], Tokenizer, 64).Single());
    }

    [Theory]
    [InlineData("user-last", "Record 0: field 'chosen' ends with a 'user' turn at 'chosen[1]' (expected the last message to be the assistant's response)")]
    [InlineData("prompts-differ", "Record 0: fields 'chosen[0]' and 'rejected[0]' differ, but come before the responses (with the implicit-prompt form,*")]
    [InlineData("empty-content", "Record 0: field 'rejected[0].content' is empty (expected the text of the 'assistant' turn)")]
    [InlineData("no-messages", "Record 0: field 'chosen' is empty (expected at least one message, the last an assistant turn)")]
    [InlineData("unknown-role", "Record 0: messages[0]: role 'tool' is not supported; expected 'system', 'user' or 'assistant'.")]
    public void Malformed_records_are_refused_naming_the_record_and_the_field(string kind, string message)
    {
        var record = kind switch
        {
            "user-last" => new ConversationalPreferenceRecord { Prompt = [User("Hi")], Chosen = [Assistant("a"), User("b")], Rejected = [Assistant("c")] },
            "prompts-differ" => new ConversationalPreferenceRecord { Chosen = [User("Hi"), Assistant("a")], Rejected = [User("Ho"), Assistant("b")] },
            "empty-content" => new ConversationalPreferenceRecord { Prompt = [User("Hi")], Chosen = [Assistant("a")], Rejected = [Assistant("")] },
            "no-messages" => new ConversationalPreferenceRecord { Prompt = [User("Hi")], Chosen = [], Rejected = [Assistant("a")] },
            _ => new ConversationalPreferenceRecord { Prompt = [new ChatMessage("tool", "42")], Chosen = [Assistant("a")], Rejected = [Assistant("b")] },
        };

        var act = () => DpoTrainer.Tokenize([record], Tokenizer, 64);

        act.Should().Throw<ArgumentException>().WithMessage(message + "*");
    }

    [Fact]
    public async Task A_file_of_explicit_and_implicit_records_reads_in_order_and_bad_lines_name_the_line_and_the_field()
    {
        using var dir = new TempFolder();
        var path = dir["prefs.jsonl"];
        string[] lines =
        [
            """{"prompt":[{"role":"user","content":"Hello world"}],"chosen":[{"role":"assistant","content":"Hello."}],"rejected":[{"role":"assistant","content":"in the in"}],"source":"rmsp"}""",
            "",
            """{"chosen":[{"role":"user","content":"the in"},{"role":"assistant","content":"the world."}],"rejected":[{"role":"user","content":"the in"},{"role":"assistant","content":"Hello Hello"}]}""",
            """{"prompt":[{"role":"user","content":"Hi"}],"chosen":[{"role":"assistant","content":"a"},{"role":"user","content":"b"}],"rejected":[{"role":"assistant","content":"c"}]}""",
            """{"prompt":"\n\nHuman: Hi\n\nAssistant:","chosen":" a","rejected":" b"}""",
            """{"chosen":[{"role":"user","content":"Hi"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"Ho"},{"role":"assistant","content":"b"}]}""",
            """{"prompt":[{"role":"user","content":""}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""",
            """{"prompt":[{"role":"tool","content":"42"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""",
            """{"prompt":[{"role":"user","content":"Hi"}],"chosen":[{"role":"assistant"}],"rejected":[{"role":"assistant","content":"b"}]}""",
        ];
        await File.WriteAllTextAsync(path, string.Join("\n", lines) + "\n");

        var strict = () => DpoTrainer.TokenizeFileAsync(path, Tokenizer, 64);
        var error = (await strict.Should().ThrowAsync<JsonlFormatException>()).Which;
        error.LineNumber.Should().Be(4);
        error.Message.Should().EndWith("prefs.jsonl line 4: field 'chosen' ends with a 'user' turn at 'chosen[1]' (expected the last message to be the assistant's response)");

        var skipped = new List<JsonlSkippedLine>();
        var examples = await DpoTrainer.TokenizeFileAsync(path, Tokenizer, 64, readOptions: new JsonlReadOptions { Lenient = true, LineSkipped = skipped.Add });

        var expected = DpoTrainer.Tokenize(
        [
            new PreferenceRecord { Prompt = AlmostTranscript.FormatPrompt("Hello world"), Chosen = " Hello.", Rejected = " in the in" },
            new PreferenceRecord { Prompt = AlmostTranscript.FormatPrompt("the in"), Chosen = " the world.", Rejected = " Hello Hello" },
        ], Tokenizer, 64);
        examples.Should().HaveCount(2);
        ShouldEqual(examples[0], expected[0]);
        ShouldEqual(examples[1], expected[1]);
        skipped.Select(s => (s.LineNumber, s.Reason)).Should().Equal(
            (4L, "field 'chosen' ends with a 'user' turn at 'chosen[1]' (expected the last message to be the assistant's response)"),
            (5L, "field 'prompt' has the wrong type (expected an array, found a string)"),
            (6L, "fields 'chosen[0]' and 'rejected[0]' differ, but come before the responses (with the implicit-prompt form, expected the same prompt on both sides: only the last, assistant, turn may differ)"),
            (7L, "field 'prompt[0].content' is empty (expected the text of the 'user' turn)"),
            (8L, "messages[0]: role 'tool' is not supported; expected 'system', 'user' or 'assistant'."),
            (9L, "missing required field 'chosen[0].content' (expected a string)"));
    }

    [Fact]
    public async Task A_file_of_plain_records_reads_as_plain_and_a_template_error_names_its_line_in_strict_mode()
    {
        using var dir = new TempFolder();
        var plain = dir["plain.jsonl"];
        await File.WriteAllTextAsync(plain, """{"prompt":"\n\nHuman: Hi\n\nAssistant:","chosen":" Hello.","rejected":" in"}""" + "\n");
        var fromFile = await DpoTrainer.TokenizeFileAsync(plain, Tokenizer, 64);
        ShouldEqual(fromFile.Single(), DpoTrainer.Tokenize([new PreferenceRecord { Prompt = AlmostTranscript.FormatPrompt("Hi"), Chosen = " Hello.", Rejected = " in" }], Tokenizer, 64).Single());

        var conversational = dir["chat.jsonl"];
        await File.WriteAllTextAsync(conversational,
            """{"prompt":[{"role":"user","content":"Hi"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""" + "\n" +
            """{"prompt":[{"role":"user","content":"Hi"},{"role":"system","content":"late"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""" + "\n");
        var act = () => DpoTrainer.TokenizeFileAsync(conversational, Tokenizer, 64);
        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.Message
            .Should().EndWith("chat.jsonl line 2: messages[1]: a system message must be the first message of a transcript.");
    }
}
