using System.Text;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>
/// Real tokenizer files give Hugging Face's ids on every string of the parity corpus (prose, numbers, whitespace,
/// code, emoji, CJK, Indic, NFD accents, Hangul jamo, characters outside the BMP, special tokens in text, very
/// long strings), decode back to Hugging Face's text, and add BOS where Hugging Face's post-processor does.
/// </summary>
public sealed class RealTokenizerParityTests
{
    public static TheoryData<string, bool> CommittedTokenizers => new()
    {
        { "gpt2", false },      // byte-level BPE, GPT-2 regex
        { "qwen3", false },     // NFC normalizer, Split regex with single digits
        { "mistral", true },    // SentencePiece-style BPE: Prepend/Replace normalizer, byte fallback, BOS added
    };

    [Theory]
    [MemberData(nameof(CommittedTokenizers))]
    public void Real_tokenizer_json_gives_hugging_face_ids_on_the_whole_corpus(string name, bool addsBos)
    {
        string folder = Path.Combine(RealTokenizerParity.Fixtures, name);
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(folder);

        var (identical, mismatches) = RealTokenizerParity.Compare(tokenizer, folder, addsBos);

        mismatches.Should().BeEmpty();
        identical.Should().Be(RealTokenizerParity.Corpus.Count).And.BeGreaterThanOrEqualTo(3000);
    }

    [Fact]
    public void Gpt2_vocab_json_and_merges_txt_give_the_same_ids_as_its_tokenizer_json()
    {
        string folder = Path.Combine(RealTokenizerParity.Fixtures, "gpt2");
        AlmostTokenizer tokenizer = TokenizerLoader.FromVocabAndMerges(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"));

        var (_, mismatches) = RealTokenizerParity.Compare(tokenizer, folder, addsBos: false);

        mismatches.Should().BeEmpty();
    }

    [Llama3FilesFact]
    public void Llama3_tokenizer_json_gives_hugging_face_ids_on_the_whole_corpus()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(RealTokenizerParity.Llama3Folder);

        var (identical, mismatches) = RealTokenizerParity.Compare(tokenizer, RealTokenizerParity.Llama3Folder, addsBos: false);

        mismatches.Should().BeEmpty();
        identical.Should().Be(RealTokenizerParity.Corpus.Count);
        tokenizer.BosToken.Should().Be("<|begin_of_text|>");
        tokenizer.EosTokenId.Should().Be(128001);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("qwen3")]
    public void Byte_level_tokenizers_round_trip_every_corpus_string(string name)
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(Path.Combine(RealTokenizerParity.Fixtures, name));
        bool nfc = name == "qwen3";

        var failures = RealTokenizerParity.Corpus
            .Where(text => tokenizer.Decode(tokenizer.Encode(text)) != (nfc ? text.Normalize(NormalizationForm.FormC) : text))
            .Take(5);

        failures.Should().BeEmpty();
    }

    [Fact]
    public void Mistral_round_trips_every_corpus_string_and_keeps_special_tokens_when_asked()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(Path.Combine(RealTokenizerParity.Fixtures, "mistral"));

        RealTokenizerParity.Corpus.Where(text => !text.Contains('▁') && !text.Contains("<s>") && !text.Contains("</s>") && !text.Contains("<unk>"))
            .Where(text => tokenizer.Decode(tokenizer.Encode(text)) != text)
            .Take(5)
            .Should().BeEmpty();
        int[] ids = tokenizer.Encode("Hello</s>", addBos: true);
        ids.Should().Equal(1, 22557, 2);
        tokenizer.Decode(ids).Should().Be("<s> Hello</s>");
        tokenizer.Decode(ids, skipSpecialTokens: true).Should().Be("Hello");
    }

    [Fact]
    public void Gpt2_tokenizer_json_without_named_special_tokens_gets_endoftext_as_bos_and_eos()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(Path.Combine(RealTokenizerParity.Fixtures, "gpt2"));

        tokenizer.Format.Should().Be(TokenizerFormat.HuggingFaceJson);
        tokenizer.BosTokenId.Should().Be(50256);
        tokenizer.EosTokenId.Should().Be(50256);
        tokenizer.PadTokenId.Should().Be(50256);
        tokenizer.VocabSize.Should().Be(50257);
    }

    [Fact]
    public void Qwen3_normalizes_to_nfc_and_reads_its_special_tokens_from_the_config()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(Path.Combine(RealTokenizerParity.Fixtures, "qwen3"));

        tokenizer.Encode("cafe\u0301").Should().Equal(tokenizer.Encode("caf\u00e9"));
        tokenizer.EosToken.Should().Be("<|im_end|>");
        tokenizer.PadToken.Should().Be("<|endoftext|>");
        tokenizer.BosTokenId.Should().BeNull();
        tokenizer.Encode("<|im_start|>user").Should().StartWith([151644]);
    }
}
