using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class TextRecordTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Text_records_round_trip_with_their_extra_fields()
    {
        string path = _dir.Write("docs.jsonl", "{\"text\":\"Abite is the capital of Detil.\",\"kind\":\"encyclopedia\"}\n{\"text\":\"Question: 2+2?\\nAnswer: 4.\"}\n");

        var read = await JsonlReader.ReadAllAsync<TextRecord>(path);
        string copy = Path.Combine(_dir.Path, "copy.jsonl");
        await JsonlWriter.WriteAllAsync(copy, read.Records);

        read.Records.Select(r => r.Text).Should().Equal("Abite is the capital of Detil.", "Question: 2+2?\nAnswer: 4.");
        read.Records[0].Extra!["kind"].GetString().Should().Be("encyclopedia");
        (await JsonlReader.ReadAllAsync<TextRecord>(copy)).Records[0].Extra!["kind"].GetString().Should().Be("encyclopedia");
        (await DatasetFormatDetector.DetectFileAsync(copy)).Should().Be(DatasetFormat.Text);
    }

    [Theory]
    [InlineData("""{"text":""}""", "field 'text' is empty (expected a non-empty document)")]
    [InlineData("""{"body":"t"}""", "missing required field 'text' (expected a string)")]
    [InlineData("""{"text":["t"]}""", "field 'text' has the wrong type (expected a string, found an array)")]
    public async Task Malformed_text_lines_name_the_file_the_line_and_the_field(string line, string problem)
    {
        string path = _dir.Write("docs.jsonl", $"{{\"text\":\"a\"}}\n{line}\n");

        var act = () => JsonlReader.ReadAllAsync<TextRecord>(path);

        var ex = (await act.Should().ThrowAsync<JsonlFormatException>()).Which;
        ex.LineNumber.Should().Be(2);
        ex.Message.Should().EndWith($"docs.jsonl line 2: {problem}");
    }
}
