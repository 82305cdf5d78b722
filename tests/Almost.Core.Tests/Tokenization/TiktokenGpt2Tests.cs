using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

public class TiktokenGpt2Tests
{
    private static readonly AlmostTokenizer s_gpt2 = TokenizerLoader.FromTiktoken("gpt2");

    [Fact]
    public void Gpt2_encodes_hello_world_and_endoftext_to_the_reference_ids()
    {
        int[] ids = s_gpt2.Encode("Hello world<|endoftext|>");

        ids.Should().Equal(15496, 995, 50256);
        s_gpt2.Decode(ids).Should().Be("Hello world<|endoftext|>");
        s_gpt2.Decode(ids, skipSpecialTokens: true).Should().Be("Hello world");
    }

    [Fact]
    public void Gpt2_special_tokens_vocab_size_and_pad_fallback()
    {
        s_gpt2.Format.Should().Be(TokenizerFormat.Tiktoken);
        s_gpt2.VocabSize.Should().Be(50257);
        s_gpt2.EosToken.Should().Be("<|endoftext|>");
        s_gpt2.EosTokenId.Should().Be(50256);
        s_gpt2.BosTokenId.Should().Be(50256);
        s_gpt2.PadToken.Should().BeNull();
        s_gpt2.PadTokenId.Should().Be(50256, "pad falls back to EOS when the tokenizer defines none");
        s_gpt2.SpecialTokens.Should().ContainKey("<|endoftext|>").WhoseValue.Should().Be(50256);
        s_gpt2.Encode("Hello", addBos: true).Should().Equal(50256, 15496);
    }

    [Fact]
    public void Gpt2_token_lookups_use_decoded_text()
    {
        s_gpt2.TokenToId(" world").Should().Be(995);
        s_gpt2.TokenToId(" world peace").Should().BeNull();
        s_gpt2.IdToToken(995).Should().Be(" world");
        s_gpt2.IdToToken(50256).Should().Be("<|endoftext|>");
        s_gpt2.Inner.Should().BeOfType<Microsoft.ML.Tokenizers.TiktokenTokenizer>();
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("  two leading spaces and trailing  ")]
    [InlineData("line one\n\nline two\ttab")]
    [InlineData("héllo wörld — 你好 🙂")]
    [InlineData("")]
    public void Gpt2_round_trips_text(string text)
    {
        s_gpt2.Decode(s_gpt2.Encode(text)).Should().Be(text);
    }
}
