using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class ConversationalPreferenceRecordTests : IDisposable
{
    private const string Explicit =
        """{"prompt":[{"role":"user","content":"2+2?"}],"chosen":[{"role":"assistant","content":"4."}],"rejected":[{"role":"assistant","content":"5."}],"source":"rmsp"}""";

    private const string Implicit =
        """{"chosen":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4."}],"rejected":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"5."}]}""";

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Explicit_and_implicit_prompts_read_to_the_same_prompt_and_responses()
    {
        string path = _dir.Write("prefs.jsonl", $"{Explicit}\n{Implicit}\n");

        var records = (await JsonlReader.ReadAllAsync<ConversationalPreferenceRecord>(path)).Records;

        records[0].Extra!["source"].GetString().Should().Be("rmsp");
        records[1].Prompt.Should().BeNull();
        var (prompt0, chosen0, rejected0) = records[0].ExtractPrompt();
        var (prompt1, chosen1, rejected1) = records[1].ExtractPrompt();
        prompt0.Should().Equal([ChatMessage.User("2+2?")]);
        prompt1.Should().Equal(prompt0);
        (chosen1, rejected1).Should().Be((chosen0, rejected0));
        chosen0.Should().Be(ChatMessage.Assistant("4."));
    }

    [Theory]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[],"rejected":[{"role":"assistant","content":"b"}]}""",
        "field 'chosen' is empty (expected at least one message, the last an assistant turn)")]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"b"}]}""",
        "field 'rejected' ends with a 'user' turn at 'rejected[0]' (expected the last message to be the assistant's response)")]
    [InlineData("""{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""",
        "fields 'chosen' and 'rejected' have 1 and 0 turns before their responses (with the implicit-prompt form, expected the same prompt on both sides: only the last, assistant, turn may differ)")]
    [InlineData("""{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"Q"},{"role":"assistant","content":"b"}]}""",
        "fields 'chosen[0]' and 'rejected[0]' differ, but come before the responses (with the implicit-prompt form, expected the same prompt on both sides: only the last, assistant, turn may differ)")]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":""}],"rejected":[{"role":"assistant","content":"b"}]}""",
        "field 'chosen[0].content' is empty (expected the text of the 'assistant' turn)")]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"rejected":[{"role":"assistant","content":"b"}]}""",
        "missing required field 'chosen' (expected an array)")]
    public async Task Malformed_lines_name_the_file_the_line_and_the_field(string line, string problem)
    {
        string path = _dir.Write("prefs.jsonl", $"{Explicit}\n{line}\n");

        var act = () => JsonlReader.ReadAllAsync<ConversationalPreferenceRecord>(path);

        var ex = (await act.Should().ThrowAsync<JsonlFormatException>()).Which;
        ex.LineNumber.Should().Be(2);
        ex.Message.Should().EndWith($"prefs.jsonl line 2: {problem}");
    }
}
