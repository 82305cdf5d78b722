namespace Almost.Core.Tests.Tokenization;

/// <summary>Writes a SentencePiece <c>tokenizer.model</c> (protobuf <c>ModelProto</c>) by hand, for tests.</summary>
internal static class SentencePieceModelWriter
{
    public const int Unigram = 1, Bpe = 2;
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Byte = 6;

    /// <summary>Pieces in id order; unk, bos and eos are ids 0, 1 and 2; the normalizer is "identity".</summary>
    public static byte[] Write(
        IEnumerable<(string Piece, float Score, int Type)> pieces, int modelType, bool byteFallback, bool removeExtraWhitespaces)
    {
        var model = new MemoryStream();
        int count = 0;
        foreach (var (piece, score, type) in pieces)
        {
            WriteBytes(model, 1, Message(m => { WriteString(m, 1, piece); WriteFloat(m, 2, score); WriteInt(m, 3, type); }));
            count++;
        }

        WriteBytes(model, 2, Message(m =>
        {
            WriteInt(m, 3, modelType);        // model_type
            WriteInt(m, 4, count);            // vocab_size
            WriteInt(m, 35, byteFallback ? 1 : 0);
            WriteInt(m, 40, 0);               // unk_id
            WriteInt(m, 41, 1);               // bos_id
            WriteInt(m, 42, 2);               // eos_id
            WriteInt(m, 43, -1);              // pad_id
        }));
        WriteBytes(model, 3, Message(m =>
        {
            WriteString(m, 1, "identity");    // name
            WriteInt(m, 3, 1);                // add_dummy_prefix
            WriteInt(m, 4, removeExtraWhitespaces ? 1 : 0);
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
