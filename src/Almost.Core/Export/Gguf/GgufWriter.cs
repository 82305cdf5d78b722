using System.Text;

namespace Almost.Export.Gguf;

/// <summary>
/// Writes a GGUF file (version 3): header, metadata key/values, tensor descriptions, then the tensor data, each
/// tensor aligned to <see cref="Alignment"/> bytes. Keys and tensors are written in the order they were added.
/// </summary>
/// <remarks>
/// Dimensions are given in PyTorch order (outermost first) and written reversed, since ggml lists the fastest-varying
/// dimension first; the bytes are the same row-major data either way.
/// </remarks>
internal sealed class GgufWriter
{
    /// <summary>The data alignment (GGUF's default, so no <c>general.alignment</c> key is needed).</summary>
    public const int Alignment = 32;

    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    private const uint Version = 3;

    private enum ValueType : uint
    {
        UInt32 = 4,
        Int32 = 5,
        Float32 = 6,
        Bool = 7,
        String = 8,
        Array = 9,
    }

    private readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<(string Name, long[] Shape, GgufTensorType Type, byte[] Data)> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    /// <summary>Adds an unsigned 32-bit value.</summary>
    public void Add(string key, uint value) => AddEntry(key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); });

    /// <summary>Adds a 32-bit float.</summary>
    public void Add(string key, float value) => AddEntry(key, w => { w.Write((uint)ValueType.Float32); w.Write(value); });

    /// <summary>Adds a boolean.</summary>
    public void Add(string key, bool value) => AddEntry(key, w => { w.Write((uint)ValueType.Bool); w.Write(value); });

    /// <summary>Adds a UTF-8 string.</summary>
    public void Add(string key, string value) => AddEntry(key, w => { w.Write((uint)ValueType.String); WriteString(w, value); });

    /// <summary>Adds an array of strings.</summary>
    public void Add(string key, IReadOnlyList<string> values) => AddArray(key, ValueType.String, values.Count, w =>
    {
        foreach (string value in values)
        {
            WriteString(w, value);
        }
    });

    /// <summary>Adds an array of 32-bit floats.</summary>
    public void Add(string key, IReadOnlyList<float> values) => AddArray(key, ValueType.Float32, values.Count, w =>
    {
        foreach (float value in values)
        {
            w.Write(value);
        }
    });

    /// <summary>Adds an array of signed 32-bit integers.</summary>
    public void Add(string key, IReadOnlyList<int> values) => AddArray(key, ValueType.Int32, values.Count, w =>
    {
        foreach (int value in values)
        {
            w.Write(value);
        }
    });

    /// <summary>Adds a tensor; <paramref name="data"/> holds its bytes in <paramref name="type"/>.</summary>
    /// <param name="name">The llama.cpp tensor name (<c>blk.0.attn_q.weight</c>).</param>
    /// <param name="shape">Dimensions in PyTorch order, outermost first.</param>
    /// <param name="type">The storage type.</param>
    /// <param name="data">The encoded bytes (<see cref="GgmlEncoding.Encode"/>).</param>
    public void AddTensor(string name, long[] shape, GgufTensorType type, byte[] data)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (data.LongLength != GgmlEncoding.ByteCount(type, count))
        {
            throw new ArgumentException($"Tensor '{name}': {data.LongLength} bytes do not hold {count} values of {type}.", nameof(data));
        }

        if (_tensors.Any(t => t.Name == name))
        {
            throw new ArgumentException($"Tensor '{name}' was added twice.", nameof(name));
        }

        _tensors.Add((name, shape, type, data));
    }

    /// <summary>Writes the whole file to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, write) in _metadata)
        {
            WriteString(w, key);
            write(w);
        }

        long offset = 0;
        foreach (var (name, shape, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                w.Write((ulong)shape[d]);
            }

            w.Write((uint)type);
            w.Write((ulong)offset);
            offset = Align(offset + data.LongLength);
        }

        Pad(w);
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            Pad(w);
        }

        w.Flush();
    }

    private void AddEntry(string key, Action<BinaryWriter> write)
    {
        if (!_keys.Add(key))
        {
            throw new ArgumentException($"Metadata key '{key}' was added twice.", nameof(key));
        }

        _metadata.Add((key, write));
    }

    private void AddArray(string key, ValueType elementType, int count, Action<BinaryWriter> writeElements) => AddEntry(key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)elementType);
        w.Write((ulong)count);
        writeElements(w);
    });

    private static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static long Align(long position) => (position + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w)
    {
        long position = w.BaseStream.Position;
        for (long i = position; i < Align(position); i++)
        {
            w.Write((byte)0);
        }
    }
}
