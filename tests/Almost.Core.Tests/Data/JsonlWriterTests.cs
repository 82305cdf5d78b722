using System.Text;
using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class JsonlWriterTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Extra_fields_survive_a_round_trip()
    {
        string input = _dir.Write("in.jsonl",
            """{"prompt":"p","chosen":"c","rejected":"r","source":"rmsp","score":{"a":1.5,"tags":["x",null]}}""" + "\n" +
            """{"messages":[{"role":"user","content":"hi","name":"bob"}],"meta":[1,2]}""" + "\n");
        string output = _dir.File("out.jsonl");

        var preference = (await JsonlReader.ReadAllAsync<PreferenceRecord>(_dir.Write("p.jsonl", File.ReadAllLines(input)[0]))).Records;
        var conversation = (await JsonlReader.ReadAllAsync<ConversationRecord>(_dir.Write("c.jsonl", File.ReadAllLines(input)[1]))).Records;
        await using (var writer = JsonlWriter.Open(output))
        {
            await writer.WriteAsync(preference[0]);
            await writer.WriteAsync(conversation[0]);
        }

        preference[0].Extra.Should().ContainKeys("source", "score");
        conversation[0].Messages[0].Extra.Should().ContainKey("name");
        File.ReadAllText(output).Should().Be(File.ReadAllText(input));
    }

    [Fact]
    public async Task Each_record_is_one_line_ending_in_newline()
    {
        string path = _dir.File("lines.jsonl");
        await using (var writer = JsonlWriter.Open(path))
        {
            await writer.WriteManyAsync([
                new PromptCompletionRecord { Prompt = "line\nbreak", Completion = "héllo" },
                new PromptCompletionRecord { Prompt = "b", Completion = "c" },
            ]);
            writer.RecordsWritten.Should().Be(2);
        }

        string text = await File.ReadAllTextAsync(path, Encoding.UTF8);
        text.Should().Be("{\"prompt\":\"line\\nbreak\",\"completion\":\"héllo\"}\n{\"prompt\":\"b\",\"completion\":\"c\"}\n");
    }

    [Fact]
    public async Task Writer_appends_to_an_existing_file()
    {
        string path = _dir.Write("append.jsonl", "{\"prompt\":\"a\"}\n");

        await using (var writer = JsonlWriter.Open(path))
        {
            await writer.WriteAsync(new PromptRecord { Prompt = "b", Id = "1" });
        }

        File.ReadAllText(path).Should().Be("{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"id\":\"1\"}\n");
    }

    [Fact]
    public void Writer_refuses_to_append_after_a_torn_line()
    {
        string path = _dir.Write("torn.jsonl", "{\"prompt\":\"a\"}\n{\"pro");

        var act = () => JsonlWriter.Open(path);

        act.Should().Throw<InvalidOperationException>().WithMessage("*torn.jsonl*JsonlResume.RepairAsync*");
    }

    [Fact]
    public async Task WriteAll_replaces_the_file_and_leaves_no_temporary()
    {
        string path = _dir.Write("all.jsonl", "old content without newline");

        await JsonlWriter.WriteAllAsync(path, [new PromptRecord { Prompt = "x" }, new PromptRecord { Prompt = "y" }]);

        File.ReadAllText(path).Should().Be("{\"prompt\":\"x\"}\n{\"prompt\":\"y\"}\n");
        Directory.GetFiles(_dir.Path).Should().ContainSingle();
    }

    [Fact]
    public async Task Cancelled_WriteAll_leaves_the_old_file_untouched()
    {
        string path = _dir.Write("keep.jsonl", "{\"prompt\":\"old\"}\n");
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var act = () => JsonlWriter.WriteAllAsync(path, [new PromptRecord { Prompt = "new" }], cancellationToken: cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        File.ReadAllText(path).Should().Be("{\"prompt\":\"old\"}\n");
        Directory.GetFiles(_dir.Path).Should().ContainSingle();
    }
}
