using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class PreferenceRecordValidationTests : IDisposable
{
    private const string Good = """{"prompt":"p","chosen":"c","rejected":"r"}""";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<JsonlFormatException> Failure(string badLine)
    {
        string path = _dir.Write("prefs.jsonl", $"{Good}\n{Good}\n{badLine}\n");
        var act = () => JsonlReader.ReadAllAsync<PreferenceRecord>(path);
        return (await act.Should().ThrowAsync<JsonlFormatException>()).Which;
    }

    [Theory]
    [InlineData("""{"prompt":"p","chosen":"c","rejected":""}""", "field 'rejected' is empty (expected a non-empty response)")]
    [InlineData("""{"prompt":"p","chosen":"","rejected":"r"}""", "field 'chosen' is empty (expected a non-empty response)")]
    [InlineData("""{"prompt":"p","rejected":"r"}""", "missing required field 'chosen' (expected a string)")]
    [InlineData("""{"prompt":"p","chosen":"c","rejected":["r"]}""", "field 'rejected' has the wrong type (expected a string, found an array)")]
    [InlineData("""{"prompt":7,"chosen":"c","rejected":"r"}""", "field 'prompt' has the wrong type (expected a string, found a number)")]
    public async Task Malformed_preference_lines_name_the_file_the_line_and_the_field(string line, string problem)
    {
        var ex = await Failure(line);

        ex.LineNumber.Should().Be(3);
        ex.Message.Should().EndWith($"prefs.jsonl line 3: {problem}");
    }

    [Fact]
    public async Task An_empty_prompt_is_allowed()
    {
        string path = _dir.Write("prefs.jsonl", """{"prompt":"","chosen":"c","rejected":"r"}""" + "\n");

        var read = await JsonlReader.ReadAllAsync<PreferenceRecord>(path);

        read.Records.Should().ContainSingle().Which.Prompt.Should().BeEmpty();
    }
}
