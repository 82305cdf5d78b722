using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Generation;

public sealed class StreamedTextTests
{
    [Theory]
    [InlineData("Hello", new string[0], 5)]
    [InlineData("Hello\uFFFD", new string[0], 5)]                  // an unfinished UTF-8 sequence waits
    [InlineData("a\uFFFDb\uFFFD\uFFFD", new string[0], 3)]         // a replacement followed by text is final
    [InlineData("Hello wo", new[] { "world" }, 6)]                // "wo" may become the stop string
    [InlineData("Hello w", new[] { "xyz", "wow", "o wo" }, 4)]     // the longest tail that starts any stop string
    [InlineData("Hello", new[] { "lo!", "o!" }, 3)]
    [InlineData("Hello", new[] { "Hello!" }, 0)]
    [InlineData("Hello", new[] { "abc" }, 5)]
    [InlineData("ab\uD83D", new string[0], 2)]                     // half a surrogate pair never goes out
    public void SafeLength_holds_back_unfinished_characters_and_stop_string_prefixes(string text, string[] stops, int expected) =>
        StreamedText.SafeLength(text, stops).Should().Be(expected);

    [Fact]
    public void A_character_split_across_byte_tokens_goes_out_once_complete()
    {
        var tokenizer = TokenizerLoader.FromByteLevelBpe(
            TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");
        var ids = tokenizer.Encode("a\U0001F642b", addBos: false);
        ids.Should().HaveCount(6, "the emoji is four byte tokens");
        var text = new StreamedText([]);
        var deltas = Enumerable.Range(1, ids.Length).Select(k => text.Advance(tokenizer.Decode(ids.Take(k)))).ToList();
        deltas.Should().Equal("a", "", "", "", "\U0001F642", "b");
    }

    [Fact]
    public void Finish_hands_out_what_was_held_back_and_nothing_twice()
    {
        var text = new StreamedText(["\n\nHuman:"]);
        text.Advance("Sure.\n").Should().Be("Sure.");
        text.Advance("Sure.\n\nHu").Should().BeEmpty();
        text.Advance("Sure.\n\nHe").Should().Be("\n\nHe");
        text.Advance("Sure.\n\nHe\n").Should().BeEmpty();
        text.Finish("Sure.\n\nHe\n").Should().Be("\n");
        text.Finished.Should().BeTrue();
    }
}
