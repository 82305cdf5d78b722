using System.Text.Json;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

public sealed class ByteLevelBpeTokenizerTests : IDisposable
{
    private readonly string _root = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Folder(string name)
    {
        string folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Fact]
    public void Vocab_and_merges_use_the_byte_level_space_marker()
    {
        string folder = Folder("vm");
        TinyByteLevelBpe.WriteVocabAndMerges(folder);

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(folder);

        tokenizer.Format.Should().Be(TokenizerFormat.ByteLevelBpe);
        int[] ids = tokenizer.Encode("Hello world");
        ids.Should().Equal(tokenizer.TokenToId("Hello")!.Value, tokenizer.TokenToId("Ġworld")!.Value);
        ids.Select(id => tokenizer.IdToToken(id)).Should().Equal("Hello", "Ġworld");
        tokenizer.Encode("é").Should().Equal(tokenizer.TokenToId("Ã©")!.Value);
        tokenizer.Decode(ids).Should().Be("Hello world");
    }

    [Fact]
    public void Vocab_and_merges_without_config_treat_endoftext_as_bos_and_eos_like_gpt2()
    {
        string folder = Folder("vm");
        TinyByteLevelBpe.WriteVocabAndMerges(folder);

        AlmostTokenizer tokenizer = TokenizerLoader.FromVocabAndMerges(
            Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"));

        tokenizer.EosTokenId.Should().Be(TinyByteLevelBpe.EndOfText);
        tokenizer.BosTokenId.Should().Be(TinyByteLevelBpe.EndOfText);
        tokenizer.Encode("Hello<|endoftext|>").Should().Equal(tokenizer.TokenToId("Hello")!.Value, TinyByteLevelBpe.EndOfText);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tokenizer_json_tokenizes_exactly_like_the_equivalent_vocab_and_merges(bool arrayMerges)
    {
        string vm = Folder("vm");
        TinyByteLevelBpe.WriteVocabAndMerges(vm);
        TinyByteLevelBpe.WriteConfig(vm, pad: null);
        string hf = Folder("hf");
        TinyByteLevelBpe.WriteTokenizerJson(hf, arrayMerges);

        AlmostTokenizer fromVocab = AlmostTokenizer.FromFolder(vm);
        AlmostTokenizer fromJson = AlmostTokenizer.FromFolder(hf);

        fromJson.Format.Should().Be(TokenizerFormat.HuggingFaceJson);
        fromJson.VocabSize.Should().Be(fromVocab.VocabSize).And.Be(TinyByteLevelBpe.ImEnd + 1);
        foreach (string text in TinyByteLevelBpe.Samples)
        {
            int[] expected = fromVocab.Encode(text);
            fromJson.Encode(text).Should().Equal(expected, "for text {0}", JsonSerializer.Serialize(text));
            fromJson.Decode(expected).Should().Be(text);
            fromVocab.Decode(expected).Should().Be(text);
        }

        fromJson.Encode("<|im_start|>user\nHello<|im_end|>\n")
            .Should().StartWith([TinyByteLevelBpe.ImStart]).And.Contain(TinyByteLevelBpe.ImEnd);
        fromJson.Decode(fromJson.Encode("<|im_start|>Hello world<|im_end|>"), skipSpecialTokens: true).Should().Be("Hello world");
    }

    [Fact]
    public void Tokenizer_config_special_tokens_set_bos_eos_and_pad_ids()
    {
        string folder = Folder("cfg");
        TinyByteLevelBpe.WriteTokenizerJson(folder, arrayMerges: true);
        TinyByteLevelBpe.WriteConfig(folder, pad: "<|im_end|>");

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(folder);

        tokenizer.BosToken.Should().Be("<|im_start|>");
        tokenizer.BosTokenId.Should().Be(TinyByteLevelBpe.ImStart);
        tokenizer.EosToken.Should().Be("<|endoftext|>");
        tokenizer.EosTokenId.Should().Be(TinyByteLevelBpe.EndOfText);
        tokenizer.PadTokenId.Should().Be(TinyByteLevelBpe.ImEnd);
        tokenizer.Encode("Hello", addBos: true).Should().Equal(TinyByteLevelBpe.ImStart, tokenizer.TokenToId("Hello")!.Value);
    }

    [Fact]
    public void Special_tokens_map_is_read_and_pad_falls_back_to_eos()
    {
        string folder = Folder("map");
        TinyByteLevelBpe.WriteVocabAndMerges(folder);
        File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"),
            """{ "eos_token": { "content": "<|im_end|>" }, "additional_special_tokens": ["<|im_start|>"] }""");

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(folder);

        tokenizer.EosTokenId.Should().Be(TinyByteLevelBpe.ImEnd);
        tokenizer.BosTokenId.Should().BeNull();
        tokenizer.PadTokenId.Should().Be(TinyByteLevelBpe.ImEnd);
        tokenizer.Encode("<|im_start|>Hello<|im_end|>")
            .Should().Equal(TinyByteLevelBpe.ImStart, tokenizer.TokenToId("Hello")!.Value, TinyByteLevelBpe.ImEnd);
        tokenizer.Encode("Hello", addBos: true).Should().Equal(tokenizer.TokenToId("Hello")!.Value);
    }

    [Fact]
    public void Writer_round_trip_loads_back_with_the_same_ids()
    {
        string folder = Folder("written");
        HfTokenizerFiles.WriteByteLevelBpe(folder, TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges,
            TinyByteLevelBpe.Specials, bosToken: "<|endoftext|>", eosToken: "<|endoftext|>", padToken: "<|im_end|>");
        AlmostTokenizer inMemory = TokenizerLoader.FromByteLevelBpe(TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges,
            TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|im_end|>");

        AlmostTokenizer fromJson = AlmostTokenizer.FromFolder(folder);
        AlmostTokenizer fromVocab = TokenizerLoader.FromVocabAndMerges(
            Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"));

        Directory.GetFiles(folder).Select(Path.GetFileName).Should()
            .BeEquivalentTo(["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"]);
        fromJson.Format.Should().Be(TokenizerFormat.HuggingFaceJson);
        foreach (string text in TinyByteLevelBpe.Samples)
        {
            int[] expected = inMemory.Encode(text);
            fromJson.Encode(text).Should().Equal(expected);
            fromVocab.Encode(text).Should().Equal(expected);
            fromJson.Decode(expected).Should().Be(text);
        }

        fromJson.EosTokenId.Should().Be(TinyByteLevelBpe.EndOfText);
        fromJson.PadTokenId.Should().Be(TinyByteLevelBpe.ImEnd);
        fromVocab.PadTokenId.Should().Be(TinyByteLevelBpe.ImEnd);
    }

    [Fact]
    public void Writer_overwrites_existing_files_and_rejects_merges_outside_the_vocabulary()
    {
        string folder = Folder("written");
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "garbage that must be replaced");
        HfTokenizerFiles.WriteByteLevelBpe(folder, TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges);
        File.ReadLines(Path.Combine(folder, "merges.txt")).First().Should().Be("#version: 0.2");

        Action bad = () => HfTokenizerFiles.WriteByteLevelBpe(folder, TinyByteLevelBpe.Vocab, [("H", "e"), ("x", "yz")]);
        bad.Should().Throw<ArgumentException>().WithMessage("*merges[1]*yz*");
    }
}
