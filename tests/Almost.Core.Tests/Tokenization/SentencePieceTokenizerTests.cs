using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>
/// Runs the SentencePiece path on a tiny <c>tokenizer.model</c> hand-encoded as a protobuf <c>ModelProto</c>
/// (pieces with scores and types, a trainer_spec with the model type and special ids, a normalizer_spec).
/// </summary>
public sealed class SentencePieceTokenizerTests : IDisposable
{
    private const int Unigram = 1;
    private const int Bpe = 2;
    private const int Normal = 1, Unknown = 2, Control = 3;

    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly (string Piece, float Score, int Type)[] s_pieces =
    [
        ("<unk>", 0, Unknown), ("<s>", 0, Control), ("</s>", 0, Control),
        ("▁h", -1, Normal), ("ll", -2, Normal), ("▁he", -2.5f, Normal), ("▁hell", -3, Normal), ("▁hello", -4, Normal),
        ("▁w", -5, Normal), ("or", -6, Normal), ("▁wor", -7, Normal), ("ld", -7.5f, Normal), ("▁world", -8, Normal),
        ("▁", -9, Normal), ("h", -10, Normal), ("e", -11, Normal), ("l", -12, Normal), ("o", -13, Normal),
        ("w", -14, Normal), ("r", -15, Normal), ("d", -16, Normal),
    ];

    [Theory]
    [InlineData(Bpe)]
    [InlineData(Unigram)]
    public void Hand_encoded_model_encodes_decodes_and_knows_its_special_pieces(int modelType)
    {
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"), ModelProto(modelType));

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(_folder);

        tokenizer.Format.Should().Be(TokenizerFormat.SentencePiece);
        tokenizer.VocabSize.Should().Be(s_pieces.Length);
        tokenizer.BosToken.Should().Be("<s>");
        tokenizer.BosTokenId.Should().Be(1);
        tokenizer.EosTokenId.Should().Be(2);
        tokenizer.UnkTokenId.Should().Be(0);
        tokenizer.PadTokenId.Should().Be(2, "pad falls back to EOS");

        int[] ids = tokenizer.Encode("hello world");
        ids.Select(id => tokenizer.IdToToken(id)).Should().Equal("▁hello", "▁world");
        tokenizer.Encode("hello world", addBos: true).Should().Equal([1, .. ids]);
        tokenizer.Decode(ids).Should().Be("hello world");
        tokenizer.Encode("hello world</s>").Should().Equal([.. ids, 2]);
        tokenizer.Decode([1, .. ids, 2], skipSpecialTokens: true).Should().Be("hello world");
        tokenizer.TokenToId("▁wor").Should().Be(10);
    }

    [Fact]
    public void Folder_with_a_unigram_tokenizer_json_falls_back_to_tokenizer_model()
    {
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"), ModelProto(Bpe));
        File.WriteAllText(Path.Combine(_folder, "tokenizer.json"),
            """{ "model": { "type": "Unigram", "vocab": [ ["a", 0.0] ] }, "pre_tokenizer": { "type": "Metaspace" } }""");
        File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"),
            """{ "bos_token": { "content": "<s>" }, "eos_token": "</s>", "pad_token": "<unk>" }""");

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(_folder);

        tokenizer.Format.Should().Be(TokenizerFormat.SentencePiece);
        tokenizer.PadTokenId.Should().Be(0);
        tokenizer.Encode("hello", addBos: true).Should().Equal(1, 7);
    }

    private static byte[] ModelProto(int modelType) =>
        SentencePieceModelWriter.Write(s_pieces, modelType, byteFallback: false, removeExtraWhitespaces: true);
}
