using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The parts of a SentencePiece <c>tokenizer.model</c> (protobuf <c>ModelProto</c>) that the BPE path needs: the
/// pieces with their scores and types, the trainer's model type and <c>byte_fallback</c>, and the normalizer's
/// name and whitespace options. Microsoft.ML.Tokenizers reads the file too but does not expose the scores.
/// </summary>
internal sealed class SentencePieceModelProto
{
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Byte = 6;
    public const int UnigramModel = 1, BpeModel = 2;

    public List<(string Piece, float Score, int Type)> Pieces { get; } = [];

    public int ModelType { get; private set; } = UnigramModel;

    public bool ByteFallback { get; private set; }

    public string NormalizerName { get; private set; } = "nmt_nfkc";

    public bool HasCharsMap { get; private set; }

    public bool AddDummyPrefix { get; private set; } = true;

    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public bool EscapeWhitespaces { get; private set; } = true;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes a protobuf string; SentencePiece writes UTF-8, so anything else is a damaged file, not text to repair.</summary>
    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"a string field is not valid UTF-8 (bad byte at offset {e.Index} of the string)", e);
        }
    }

    /// <summary>
    /// Parses the protobuf; throws <see cref="FormatException"/> when it is not a well-formed ModelProto and
    /// <see cref="InvalidDataException"/> when a piece or name is not valid UTF-8.
    /// </summary>
    public static SentencePieceModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        var model = new SentencePieceModelProto();
        var reader = new Reader(bytes);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, 2):
                    model.Pieces.Add(ParsePiece(reader.Bytes()));
                    break;
                case (2, 2):
                    var trainer = new Reader(reader.Bytes());
                    while (trainer.Next(out int f, out int w))
                    {
                        switch (f, w)
                        {
                            case (3, 0): model.ModelType = (int)trainer.Varint(); break;
                            case (35, 0): model.ByteFallback = trainer.Varint() != 0; break;
                            default: trainer.Skip(w); break;
                        }
                    }

                    break;
                case (3, 2):
                    var normalizer = new Reader(reader.Bytes());
                    while (normalizer.Next(out int f, out int w))
                    {
                        switch (f, w)
                        {
                            case (1, 2): model.NormalizerName = Utf8(normalizer.Bytes()); break;
                            case (2, 2): model.HasCharsMap = normalizer.Bytes().Length > 0; break;
                            case (3, 0): model.AddDummyPrefix = normalizer.Varint() != 0; break;
                            case (4, 0): model.RemoveExtraWhitespaces = normalizer.Varint() != 0; break;
                            case (5, 0): model.EscapeWhitespaces = normalizer.Varint() != 0; break;
                            default: normalizer.Skip(w); break;
                        }
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return model;
    }

    private static (string, float, int) ParsePiece(ReadOnlySpan<byte> bytes)
    {
        var reader = new Reader(bytes);
        string piece = string.Empty;
        float score = 0;
        int type = Normal;
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, 2): piece = Utf8(reader.Bytes()); break;
                case (2, 5): score = reader.Float(); break;
                case (3, 0): type = (int)reader.Varint(); break;
                default: reader.Skip(wire); break;
            }
        }

        return (piece, score, type);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public bool Next(out int field, out int wire)
        {
            if (_position >= _data.Length)
            {
                field = wire = 0;
                return false;
            }

            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    throw new FormatException("truncated varint");
                }

                byte b = _data[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new FormatException("varint longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            int length = checked((int)Varint());
            if (length < 0 || _position + length > _data.Length)
            {
                throw new FormatException("length-delimited field runs past the end");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_position, length);
            _position += length;
            return slice;
        }

        public float Float()
        {
            if (_position + 4 > _data.Length)
            {
                throw new FormatException("truncated float");
            }

            float value = BitConverter.ToSingle(_data.Slice(_position, 4));
            _position += 4;
            return value;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _position += 8; break;
                case 2: Bytes(); break;
                case 5: _position += 4; break;
                default: throw new FormatException($"unsupported wire type {wire}");
            }

            if (_position > _data.Length)
            {
                throw new FormatException("field runs past the end");
            }
        }
    }
}
