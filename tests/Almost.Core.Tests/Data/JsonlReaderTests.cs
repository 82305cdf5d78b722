using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class JsonlReaderTests : IDisposable
{
    private const string Good = """{"prompt":"p","chosen":"c","rejected":"r"}""";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<List<T>> ReadList<T>(string path, JsonlReadOptions? options = null)
    {
        var list = new List<T>();
        await foreach (var r in JsonlReader.ReadAsync<T>(path, options))
        {
            list.Add(r);
        }

        return list;
    }

    private async Task<JsonlFormatException> StrictFailure<T>(string content, string name = "data.jsonl")
    {
        string path = _dir.Write(name, content);
        var act = () => ReadList<T>(path);
        return (await act.Should().ThrowAsync<JsonlFormatException>()).Which;
    }

    [Fact]
    public async Task Invalid_json_throws_with_file_and_line()
    {
        var ex = await StrictFailure<PreferenceRecord>($"{Good}\n{Good}\n{{\"prompt\": \"p\", \"chosen\": \n");

        ex.LineNumber.Should().Be(3);
        ex.FilePath.Should().EndWith("data.jsonl");
        ex.Message.Should().Contain("data.jsonl line 3: invalid JSON");
    }

    [Fact]
    public async Task Missing_required_field_names_the_field_and_expected_type()
    {
        string lines = string.Concat(Enumerable.Repeat(Good + "\n", 6)) + """{"prompt":"p","rejected":"r"}""" + "\n";

        var ex = await StrictFailure<PreferenceRecord>(lines);

        ex.LineNumber.Should().Be(7);
        ex.Message.Should().EndWith("data.jsonl line 7: missing required field 'chosen' (expected a string)");
    }

    [Fact]
    public async Task Number_where_string_expected_is_a_wrong_type()
    {
        var ex = await StrictFailure<PreferenceRecord>("""{"prompt":"p","chosen":42,"rejected":"r"}""" + "\n");

        ex.LineNumber.Should().Be(1);
        ex.Message.Should().Contain("line 1: field 'chosen' has the wrong type (expected a string, found a number)");
    }

    [Fact]
    public async Task Array_instead_of_object_is_a_wrong_type()
    {
        var ex = await StrictFailure<PreferenceRecord>($"{Good}\n[\"p\",\"c\",\"r\"]\n");

        ex.LineNumber.Should().Be(2);
        ex.Message.Should().Contain("line 2: expected a JSON object, found an array");
    }

    [Fact]
    public async Task Null_for_required_string_is_rejected()
    {
        var ex = await StrictFailure<PreferenceRecord>("""{"prompt":"p","chosen":null,"rejected":"r"}""" + "\n");

        ex.Message.Should().Contain("field 'chosen' is null (expected a string)");
    }

    [Fact]
    public async Task Nested_fields_are_named_with_their_path()
    {
        var ex = await StrictFailure<ConversationRecord>(
            """{"messages":[{"role":"user","content":"hi"},{"content":"hello"}]}""" + "\n");

        ex.Message.Should().Contain("line 1: missing required field 'messages[1].role' (expected a string)");
    }

    [Fact]
    public async Task Empty_file_streams_no_records()
    {
        string path = _dir.Write("empty.jsonl", "");

        (await ReadList<PreferenceRecord>(path)).Should().BeEmpty();
    }

    [Fact]
    public async Task Loading_an_empty_dataset_throws()
    {
        string path = _dir.Write("empty.jsonl", "\n  \n");

        var act = () => JsonlReader.ReadAllAsync<PreferenceRecord>(path);

        var ex = (await act.Should().ThrowAsync<JsonlFormatException>()).Which;
        ex.LineNumber.Should().Be(0);
        ex.Message.Should().Contain("empty.jsonl: empty dataset");
    }

    [Fact]
    public async Task Utf8_bom_at_start_is_skipped()
    {
        string path = _dir.Write("bom.jsonl", $"{Good}\n{Good}\n", bom: true);

        var records = await ReadList<PreferenceRecord>(path);

        records.Should().HaveCount(2);
        records[0].Prompt.Should().Be("p");
    }

    [Fact]
    public async Task Crlf_line_endings_are_accepted()
    {
        string path = _dir.Write("crlf.jsonl", $"{Good}\r\n{Good.Replace("\"c\"", "\"c2\"")}\r\n");

        var records = await ReadList<PreferenceRecord>(path);

        records.Select(r => r.Chosen).Should().Equal("c", "c2");
    }

    [Fact]
    public async Task Blank_lines_are_skipped_but_counted_in_line_numbers()
    {
        string path = _dir.Write("blank.jsonl", $"\n{Good}\n   \n\n{{\"prompt\":\"p\"}}\n");

        var act = () => ReadList<PreferenceRecord>(path);

        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.LineNumber.Should().Be(5);
        var entries = new List<JsonlEntry<PromptRecord>>();
        await foreach (var e in JsonlReader.ReadEntriesAsync<PromptRecord>(path))
        {
            entries.Add(e);
        }

        entries.Select(e => (e.LineNumber, e.Index)).Should().Equal((2L, 0), (5L, 1));
    }

    [Fact]
    public async Task Final_line_without_newline_is_accepted_when_it_parses()
    {
        string path = _dir.Write("nonl.jsonl", $"{Good}\n{Good}");

        (await ReadList<PreferenceRecord>(path)).Should().HaveCount(2);
    }

    [Fact]
    public async Task Torn_final_line_throws_in_strict_mode()
    {
        var ex = await StrictFailure<PreferenceRecord>($"{Good}\n{Good[..20]}");

        ex.LineNumber.Should().Be(2);
        ex.Message.Should().Contain("invalid JSON");
    }

    [Fact]
    public async Task Lenient_mode_skips_counts_and_reports_bad_lines()
    {
        string path = _dir.Write("mixed.jsonl", $"{Good}\nnot json\n{Good}\n{{\"prompt\":\"p\"}}\n[1]\n{Good}");
        var seen = new List<long>();

        var result = await JsonlReader.ReadAllAsync<PreferenceRecord>(
            path, new JsonlReadOptions { Lenient = true, LineSkipped = s => seen.Add(s.LineNumber) });

        result.Records.Should().HaveCount(3);
        result.SkippedCount.Should().Be(3);
        result.SkippedLines.Select(s => s.LineNumber).Should().Equal(2, 4, 5);
        result.SkippedLines[1].Reason.Should().Contain("missing required field 'chosen'");
        seen.Should().Equal(2, 4, 5);
    }

    [Fact]
    public async Task Lenient_dataset_with_no_valid_record_is_still_empty()
    {
        string path = _dir.Write("bad.jsonl", "nope\n{}\n");

        var act = () => JsonlReader.ReadAllAsync<PreferenceRecord>(path, new JsonlReadOptions { Lenient = true });

        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.Message.Should().Contain("empty dataset").And.Contain("2 malformed");
    }

    [Fact]
    public async Task Numeric_prompt_id_is_read_as_text()
    {
        string path = _dir.Write("ids.jsonl", "{\"prompt\":\"a\",\"id\":7}\n{\"prompt\":\"b\",\"id\":\"x\"}\n{\"prompt\":\"c\"}\n");

        var records = await ReadList<PromptRecord>(path);

        records.Select(r => r.Id).Should().Equal("7", "x", null);
    }
}
