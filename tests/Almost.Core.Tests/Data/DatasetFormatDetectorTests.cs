using Almost.Data;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class DatasetFormatDetectorTests
{
    [Theory]
    [InlineData("""{"prompt":"p","chosen":"c","rejected":"r"}""", DatasetFormat.Preference)]
    [InlineData("""{"prompt":"p","chosen":"c","rejected":"r","completion":"x","extra":1}""", DatasetFormat.Preference)]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", DatasetFormat.Conversation)]
    [InlineData("""{"messages":[],"source":"rmsp"}""", DatasetFormat.Conversation)]
    [InlineData("""{"prompt":"p","completion":"c"}""", DatasetFormat.PromptCompletion)]
    [InlineData("""{"id":"3","prompt":"p","completion":"c","finish_reason":"eos"}""", DatasetFormat.PromptCompletion)]
    [InlineData("""{"prompt":"p","id":4}""", DatasetFormat.Prompt)]
    [InlineData("""{"prompt":"p","chosen":"c"}""", DatasetFormat.Prompt)]
    [InlineData("""{"prompt":[{"role":"user","content":"q"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""", DatasetFormat.ConversationalPreference)]
    [InlineData("""{"chosen":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"rejected":[],"id":1}""", DatasetFormat.ConversationalPreference)]
    [InlineData("""{"chosen":[],"rejected":"r"}""", DatasetFormat.Unknown)]
    [InlineData("""{"text":"t"}""", DatasetFormat.Text)]
    [InlineData("""{"text":"t","source":"corpus","id":2}""", DatasetFormat.Text)]
    [InlineData("""{"prompt":"p","text":"t"}""", DatasetFormat.Prompt)]
    [InlineData("""{"text":3}""", DatasetFormat.Unknown)]
    [InlineData("""{"prompt":1,"completion":"c"}""", DatasetFormat.Unknown)]
    [InlineData("""{"messages":"hi"}""", DatasetFormat.Unknown)]
    [InlineData("""[1,2]""", DatasetFormat.Unknown)]
    [InlineData("""not json""", DatasetFormat.Unknown)]
    public void Format_is_detected_from_the_fields(string json, DatasetFormat expected) =>
        DatasetFormatDetector.Detect(json).Should().Be(expected);

    [Fact]
    public async Task File_format_is_detected_from_its_first_record()
    {
        string path = Path.Combine(Path.GetTempPath(), $"almost-detect-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, "\uFEFF\r\n{\"messages\":[]}\r\n{\"prompt\":\"p\"}\r\n");
        try
        {
            (await DatasetFormatDetector.DetectFileAsync(path)).Should().Be(DatasetFormat.Conversation);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
