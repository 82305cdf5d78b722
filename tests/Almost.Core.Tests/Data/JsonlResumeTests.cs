using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class JsonlResumeTests : IDisposable
{
    private const string A = """{"id":"a","prompt":"x"}""";
    private const string B = """{"id":"b","prompt":"y"}""";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Torn_final_line_is_truncated_to_the_last_complete_line()
    {
        string path = _dir.Write("out.jsonl", $"{A}\n{B}\n{B[..9]}");

        var state = await JsonlResume.RepairAsync(path);

        File.ReadAllText(path).Should().Be($"{A}\n{B}\n");
        state.CompleteRecords.Should().Be(2);
        state.CompletedIds.Should().BeEquivalentTo(["a", "b"]);
        state.TruncatedBytes.Should().Be(9);
        state.RepairedLineNumber.Should().Be(3);
    }

    [Fact]
    public async Task The_repair_says_exactly_what_it_did()
    {
        string torn = _dir.Write("torn.jsonl", $"{A}\n{B}\n{B[..9]}");
        (await JsonlResume.RepairAsync(torn)).Describe().Should().Match("removed the torn final line 3 (9 bytes; not a complete record: *); 2 complete records kept");

        string unterminated = _dir.Write("unterminated.jsonl", $"{A}\n{B}");
        (await JsonlResume.RepairAsync(unterminated)).Describe()
            .Should().Be("final line 2 was a complete record without its newline: appended the newline, removed nothing (2 records kept)");

        string intact = _dir.Write("intact.jsonl", $"{A}\n");
        (await JsonlResume.RepairAsync(intact)).Describe().Should().Be("intact (1 complete records)");
    }

    [Fact]
    public async Task Unparseable_final_line_with_newline_is_truncated()
    {
        string path = _dir.Write("out.jsonl", $"{A}\r\n{{\"id\":\"b\",\"pr\n\n");

        var state = await JsonlResume.RepairAsync(path);

        File.ReadAllText(path).Should().Be($"{A}\r\n");
        state.CompletedIds.Should().BeEquivalentTo(["a"]);
        state.RepairedLineNumber.Should().Be(2);
    }

    [Fact]
    public async Task Complete_final_record_without_newline_is_kept_and_terminated()
    {
        string path = _dir.Write("out.jsonl", $"{A}\n{B}");

        var state = await JsonlResume.RepairAsync(path);

        File.ReadAllText(path).Should().Be($"{A}\n{B}\n");
        state.CompleteRecords.Should().Be(2);
        state.AddedNewline.Should().BeTrue();
        state.TruncatedBytes.Should().Be(0);
    }

    [Fact]
    public async Task Final_line_missing_a_required_field_is_torn_for_a_typed_repair()
    {
        string path = _dir.Write("out.jsonl", $"{{\"prompt\":\"x\",\"id\":\"a\"}}\n{{\"id\":\"b\"}}\n");

        var state = await JsonlResume.RepairAsync<PromptRecord>(path, r => r.Id);

        File.ReadAllText(path).Should().Be("{\"prompt\":\"x\",\"id\":\"a\"}\n");
        state.CompletedIds.Should().BeEquivalentTo(["a"]);
    }

    [Fact]
    public async Task Intact_file_is_not_changed()
    {
        string text = $"\uFEFF{A}\n\n{B}\n";
        string path = _dir.Write("out.jsonl", text);
        byte[] before = File.ReadAllBytes(path);

        var state = await JsonlResume.RepairAsync(path);

        File.ReadAllBytes(path).Should().Equal(before);
        state.WasRepaired.Should().BeFalse();
        state.CompleteRecords.Should().Be(2);
    }

    [Fact]
    public async Task Corrupt_line_before_the_last_throws_and_changes_nothing()
    {
        string path = _dir.Write("out.jsonl", $"{A}\n{{broken\n{B}\n");
        byte[] before = File.ReadAllBytes(path);

        var act = () => JsonlResume.RepairAsync(path);

        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.LineNumber.Should().Be(2);
        File.ReadAllBytes(path).Should().Equal(before);
    }

    [Fact]
    public async Task Missing_file_is_an_empty_intact_output()
    {
        var state = await JsonlResume.RepairAsync(_dir.File("none.jsonl"));

        state.CompleteRecords.Should().Be(0);
        state.WasRepaired.Should().BeFalse();
        File.Exists(_dir.File("none.jsonl")).Should().BeFalse();
    }
}
