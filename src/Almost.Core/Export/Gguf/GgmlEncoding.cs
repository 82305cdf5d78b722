using System.Buffers.Binary;

namespace Almost.Export.Gguf;

/// <summary>Encodes fp32 values into the bytes of a ggml tensor type (F32, F16, Q8_0), little-endian.</summary>
internal static class GgmlEncoding
{
    /// <summary>Values per Q8_0 block.</summary>
    public const int Q8BlockSize = 32;

    /// <summary>Bytes per Q8_0 block: an fp16 scale and 32 signed bytes.</summary>
    public const int Q8BlockBytes = 2 + Q8BlockSize;

    /// <summary>Bytes that <paramref name="count"/> values take in <paramref name="type"/>.</summary>
    public static long ByteCount(GgufTensorType type, long count) => type switch
    {
        GgufTensorType.F32 => count * 4,
        GgufTensorType.F16 => count * 2,
        GgufTensorType.Q8_0 => count / Q8BlockSize * Q8BlockBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported ggml type."),
    };

    /// <summary>Whether a matrix with rows of <paramref name="rowLength"/> values can be stored as <paramref name="type"/>.</summary>
    public static bool Fits(GgufTensorType type, long rowLength) => type != GgufTensorType.Q8_0 || rowLength % Q8BlockSize == 0;

    /// <summary>The bytes of <paramref name="values"/> in <paramref name="type"/> (rows are contiguous, so blocks never straddle rows).</summary>
    public static byte[] Encode(GgufTensorType type, ReadOnlySpan<float> values)
    {
        var bytes = new byte[ByteCount(type, values.Length)];
        switch (type)
        {
            case GgufTensorType.F32:
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                }

                break;
            case GgufTensorType.F16:
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                }

                break;
            case GgufTensorType.Q8_0:
                if (values.Length % Q8BlockSize != 0)
                {
                    throw new ArgumentException($"Q8_0 needs a multiple of {Q8BlockSize} values, got {values.Length}.", nameof(values));
                }

                for (int block = 0; block < values.Length / Q8BlockSize; block++)
                {
                    EncodeQ8Block(values.Slice(block * Q8BlockSize, Q8BlockSize), bytes.AsSpan(block * Q8BlockBytes, Q8BlockBytes));
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported ggml type.");
        }

        return bytes;
    }

    /// <summary>
    /// One Q8_0 block: scale d = max|x| / 127 (stored as fp16), q = round(x / d) half away from zero, which is what
    /// ggml's reference quantizer does, so our file equals the one llama.cpp would write.
    /// </summary>
    private static void EncodeQ8Block(ReadOnlySpan<float> values, Span<byte> block)
    {
        float max = 0;
        foreach (float v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        float d = max / 127f;
        float inverse = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteHalfLittleEndian(block, (Half)d);
        for (int i = 0; i < values.Length; i++)
        {
            block[2 + i] = unchecked((byte)(sbyte)MathF.Round(values[i] * inverse, MidpointRounding.AwayFromZero));
        }
    }
}
