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

    private static byte[] ModelProto(int modelType)
    {
        var model = new MemoryStream();
        foreach (var (piece, score, type) in s_pieces)
        {
            WriteBytes(model, 1, Message(m => { WriteString(m, 1, piece); WriteFloat(m, 2, score); WriteInt(m, 3, type); }));
        }

        WriteBytes(model, 2, Message(m =>
        {
            WriteInt(m, 3, modelType);        // model_type
            WriteInt(m, 4, s_pieces.Length);  // vocab_size
            WriteInt(m, 40, 0);               // unk_id
            WriteInt(m, 41, 1);               // bos_id
            WriteInt(m, 42, 2);               // eos_id
            WriteInt(m, 43, -1);              // pad_id
        }));
        WriteBytes(model, 3, Message(m =>
        {
            WriteString(m, 1, "identity");    // name
            WriteInt(m, 3, 1);                // add_dummy_prefix
            WriteInt(m, 4, 1);                // remove_extra_whitespaces
            WriteInt(m, 5, 1);                // escape_whitespaces
        }));
        return model.ToArray();
    }

    private static byte[] Message(Action<Stream> write)
    {
        var stream = new MemoryStream();
        write(stream);
        return stream.ToArray();
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        s.WriteByte((byte)value);
    }

    private static void WriteTag(Stream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    private static void WriteInt(Stream s, int field, long value)
    {
        WriteTag(s, field, 0);
        WriteVarint(s, (ulong)value);
    }

    private static void WriteFloat(Stream s, int field, float value)
    {
        WriteTag(s, field, 5);
        s.Write(BitConverter.GetBytes(value));
    }

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteString(Stream s, int field, string value) => WriteBytes(s, field, System.Text.Encoding.UTF8.GetBytes(value));
}
