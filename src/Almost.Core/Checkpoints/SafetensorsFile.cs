using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Almost.IO;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;

namespace Almost.Checkpoints;

/// <summary>
/// Reads and writes single <c>.safetensors</c> files: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"__metadata__":{...},"name":{"dtype":..,"shape":[..],"data_offsets":[begin,end]},...}</c>), then the raw
/// little-endian tensor bytes.
/// </summary>
/// <remarks>
/// <para>
/// Writing: TorchSharp.PyBridge's writer emits no <c>__metadata__</c> (Python <c>transformers</c> checks
/// <c>metadata["format"] == "pt"</c>), does not pad the header to 8 bytes and measures the header length in UTF-16
/// characters instead of UTF-8 bytes, so this class writes files itself, always with <c>{"format":"pt"}</c>.
/// </para>
/// <para>
/// Reading: the header is parsed and validated here (length against file size, JSON, known dtypes, offsets that tile
/// the data section exactly, shape × element size = byte length), so a corrupt file fails with a
/// <see cref="CheckpointException"/> naming the file instead of PyBridge's bare <see cref="EndOfStreamException"/> or
/// <see cref="JsonException"/>. The tensor bytes are then also read here rather than by
/// <c>TorchSharp.PyBridge.Safetensors.LoadStateDict</c>: the validated header already has every offset, reading
/// through PyBridge would parse the header a second time with its own unchecked parser, and PyBridge refuses tensors
/// over 2 GB, which a 7B model's embedding can reach in fp32. Bytes go straight into the tensor's native memory with
/// <see cref="Tensor.ReadBytesFromStream"/> (buffered, no 2 GB limit).
/// </para>
/// </remarks>
internal static class SafetensorsFile
{
    /// <summary>The largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int CopyBufferSize = 1 << 20;
    private const string CorruptHeader = "truncated or corrupt safetensors header";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The <c>__metadata__</c> written by default: <c>{"format":"pt"}</c>, which Python <c>transformers</c> expects.</summary>
    public static IReadOnlyDictionary<string, string> DefaultMetadata { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };

    /// <summary>Reads and validates the header of a safetensors file, without reading tensor data.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The header.</returns>
    /// <exception cref="CheckpointException">The file is missing, truncated or its header is invalid; the message names the file.</exception>
    public static SafetensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads all tensors of a safetensors file (or only <paramref name="names"/>) onto the CPU, in their stored dtype.</summary>
    /// <param name="path">The file.</param>
    /// <param name="names">The tensors to read; null reads all. Every name must be in the file.</param>
    /// <returns>The tensors by name; the caller owns (and disposes) them.</returns>
    /// <exception cref="CheckpointException">The file is missing or corrupt, or lacks one of <paramref name="names"/>.</exception>
    public static Dictionary<string, Tensor> Load(string path, IReadOnlyCollection<string>? names = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        var selected = Select(header, names);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var info in selected)
            {
                result.Add(info.Name, ReadTensor(stream, header, info));
            }
        }
        catch
        {
            foreach (var tensor in result.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
        return result;
    }

    /// <summary>
    /// Atomically writes <paramref name="tensors"/> to a safetensors file (temporary file, flushed, renamed), with
    /// <paramref name="metadata"/> (default <see cref="DefaultMetadata"/>) under <c>__metadata__</c>.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">The tensors, on any device; written in this order. Non-contiguous tensors are copied first.</param>
    /// <param name="metadata">String metadata; null writes <see cref="DefaultMetadata"/>.</param>
    /// <param name="dtype">Store floating-point tensors in this dtype; null stores every tensor as it is. Integer and bool tensors are never converted.</param>
    public static void Save(
        string path,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null,
        torch.ScalarType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        AtomicFile.Write(path, stream => Write(stream, list, metadata, dtype));
    }

    /// <summary>Writes a safetensors file to <paramref name="stream"/> (not atomic by itself; see <see cref="Save"/>).</summary>
    /// <param name="stream">The destination; left open.</param>
    /// <param name="tensors">The tensors, on any device; written in this order.</param>
    /// <param name="metadata">String metadata; null writes <see cref="DefaultMetadata"/>.</param>
    /// <param name="dtype">Store floating-point tensors in this dtype; null stores every tensor as it is.</param>
    public static void Write(
        Stream stream,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null,
        torch.ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        EnsureLittleEndian();
        var list = tensors.ToList();

        var names = new HashSet<string>(StringComparer.Ordinal);
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata ?? DefaultMetadata)
            {
                json.WriteString(key, value);
            }
            json.WriteEndObject();

            long offset = 0;
            foreach (var (name, tensor) in list)
            {
                ArgumentNullException.ThrowIfNull(tensor, name);
                if (name == MetadataKey || !names.Add(name))
                {
                    throw new ArgumentException($"Tensor name '{name}' is reserved or appears twice.", nameof(tensors));
                }
                var stored = StoredDType(tensor.dtype, dtype);
                var length = checked(tensor.NumberOfElements * ElementSize(stored));
                json.WriteStartObject(name);
                json.WriteString("dtype", ToSafetensorsDType(stored));
                json.WriteStartArray("shape");
                foreach (var dim in tensor.shape)
                {
                    json.WriteNumberValue(dim);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += length;
            }
            json.WriteEndObject();
        }

        // Pad with spaces so the data section starts 8-byte aligned (8 + N is a multiple of 8).
        var padding = (int)((8 - header.Length % 8) % 8);
        header.Write(Enumerable.Repeat((byte)' ', padding).ToArray());

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        header.Position = 0;
        header.CopyTo(stream);

        foreach (var (_, tensor) in list)
        {
            WriteTensorBytes(stream, tensor, StoredDType(tensor.dtype, dtype));
        }
        stream.Flush();
    }

    /// <summary>Maps a safetensors dtype string to a TorchSharp element type.</summary>
    /// <param name="dtype">One of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.</param>
    /// <returns>The element type.</returns>
    /// <exception cref="NotSupportedException">The dtype is not one of those.</exception>
    public static torch.ScalarType ToScalarType(string dtype) => TryToScalarType(dtype, out var type)
        ? type
        : throw new NotSupportedException($"Safetensors dtype '{dtype}' is not supported (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL).");

    /// <summary>Maps a TorchSharp element type to its safetensors dtype string.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>The dtype string, e.g. <c>BF16</c>.</returns>
    /// <exception cref="NotSupportedException">The type has no safetensors equivalent here (complex, quantized).</exception>
    public static string ToSafetensorsDType(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 => "F64",
        torch.ScalarType.Float32 => "F32",
        torch.ScalarType.Float16 => "F16",
        torch.ScalarType.BFloat16 => "BF16",
        torch.ScalarType.Int64 => "I64",
        torch.ScalarType.Int32 => "I32",
        torch.ScalarType.Int16 => "I16",
        torch.ScalarType.Int8 => "I8",
        torch.ScalarType.Byte => "U8",
        torch.ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"Element type {type} cannot be stored in safetensors by this SDK."),
    };

    /// <summary>Bytes per element of a supported element type.</summary>
    /// <param name="type">The element type.</param>
    /// <returns>1, 2, 4 or 8.</returns>
    public static int ElementSize(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
        torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
        torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Int16 => 2,
        torch.ScalarType.Int8 or torch.ScalarType.Byte or torch.ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"Element type {type} cannot be stored in safetensors by this SDK."),
    };

    internal static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    internal static bool IsFloatingPoint(torch.ScalarType type) =>
        type is torch.ScalarType.Float64 or torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16;

    internal static torch.ScalarType StoredDType(torch.ScalarType actual, torch.ScalarType? requested) =>
        requested is { } target && IsFloatingPoint(actual) ? target : actual;

    internal static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.RandomAccess);
        }
        catch (FileNotFoundException e)
        {
            throw new CheckpointException($"Safetensors file '{path}' does not exist.", path, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new CheckpointException($"Safetensors file '{path}' does not exist (its folder is missing).", path, e);
        }
        catch (UnauthorizedAccessException e) when (Directory.Exists(path))
        {
            throw new CheckpointException($"Safetensors path '{path}' is a folder; expected a .safetensors file.", path, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CheckpointException($"Safetensors file '{path}' cannot be read ({e.Message}).", path, e);
        }
    }

    internal static SafetensorsHeader ReadHeader(FileStream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw Corrupt(path, $"the file is {fileLength} bytes long, shorter than the 8-byte header length");
        }

        Span<byte> prefix = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength < 2 || headerLength > MaxHeaderLength || headerLength > (ulong)(fileLength - 8))
        {
            throw Corrupt(path, $"header length {headerLength} is impossible for a file of {fileLength} bytes (limit {MaxHeaderLength})");
        }

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataLength = fileLength - 8 - (long)headerLength;

        // System.Text.Json checks UTF-8 only where it transcodes a string, and then throws InvalidOperationException;
        // check the whole header up front so any bad byte is reported as corruption of this file.
        try
        {
            _ = StrictUtf8.GetCharCount(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Corrupt(path, $"the header is not valid UTF-8 (bad byte at header offset {e.Index})", e);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"the header is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Corrupt(path, "the header is not a JSON object");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Corrupt(path, $"'{property.Name}' appears twice in the header");
                }
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                tensors.Add(ReadEntry(path, property.Name, property.Value));
            }

            tensors.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long expected = 0;
            foreach (var t in tensors)
            {
                if (t.Begin != expected)
                {
                    throw Corrupt(path, $"tensor '{t.Name}' starts at data offset {t.Begin}, expected {expected} (gap or overlap)");
                }
                expected = t.End;
            }
            if (expected != dataLength)
            {
                throw Corrupt(path, expected > dataLength
                    ? $"the tensors need {expected} data bytes but the file has only {dataLength} after the header (truncated?)"
                    : $"the file has {dataLength} data bytes after the header but the tensors cover only {expected}");
            }

            return new SafetensorsHeader(path, (long)headerLength, metadata, tensors);
        }
    }

    internal static List<SafetensorsTensorInfo> Select(SafetensorsHeader header, IReadOnlyCollection<string>? names)
    {
        if (names is null)
        {
            return [.. header.Tensors];
        }
        var selected = new List<SafetensorsTensorInfo>(names.Count);
        foreach (var name in names)
        {
            if (!header.TryGetTensor(name, out var info))
            {
                throw new CheckpointException($"Safetensors file '{header.Path}' has no tensor '{name}'.", header.Path);
            }
            selected.Add(info);
        }
        // Read in file order: sequential I/O.
        selected.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        return selected;
    }

    /// <summary>Reads one tensor (validated by <see cref="ReadHeader(FileStream, string)"/>) onto the CPU in its stored dtype.</summary>
    internal static Tensor ReadTensor(FileStream stream, SafetensorsHeader header, SafetensorsTensorInfo info)
    {
        EnsureLittleEndian();
        var tensor = torch.empty([.. info.Shape], dtype: info.ScalarType, device: torch.CPU);
        try
        {
            if (info.ByteLength > 0)
            {
                stream.Position = header.DataStart + info.Begin;
                tensor.ReadBytesFromStream(stream, CopyBufferSize);
            }
            return tensor;
        }
        catch (Exception e) when (e is IOException and not CheckpointException)
        {
            tensor.Dispose();
            throw new CheckpointException($"Could not read tensor '{info.Name}' from '{header.Path}': {e.Message}", header.Path, e);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static void WriteTensorBytes(Stream stream, Tensor tensor, torch.ScalarType stored)
    {
        if (tensor.NumberOfElements == 0)
        {
            return;
        }
        // The scope disposes every temporary made here, never the caller's tensor (which was not created in it).
        using var scope = torch.NewDisposeScope();
        var t = tensor.detach();
        if (t.dtype != stored)
        {
            t = t.to(stored);
        }
        if (t.device_type != DeviceType.CPU)
        {
            t = t.cpu();
        }
        t = t.contiguous();
        t.WriteBytesToStream(stream, CopyBufferSize);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(path, "__metadata__ is not a JSON object");
        }
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Corrupt(path, $"__metadata__ value '{entry.Name}' is not a string");
            }
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Corrupt(path, $"entry '{name}' is not a JSON object");
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Corrupt(path, $"tensor '{name}' has no string 'dtype'");
        }
        var dtype = dtypeElement.GetString()!;
        if (!TryToScalarType(dtype, out var scalarType))
        {
            throw Corrupt(path, $"tensor '{name}' has unknown or unsupported dtype '{dtype}'");
        }

        var shape = ReadLongArray(path, name, value, "shape");
        var offsets = ReadLongArray(path, name, value, "data_offsets");
        if (offsets.Length != 2 || offsets[1] < offsets[0])
        {
            throw Corrupt(path, $"tensor '{name}' has data_offsets {FormatShape(offsets)}, expected [begin,end] with begin <= end");
        }

        long elements = 1;
        try
        {
            foreach (var dim in shape)
            {
                elements = checked(elements * dim);
            }
            var bytes = checked(elements * ElementSize(scalarType));
            if (bytes != offsets[1] - offsets[0])
            {
                throw Corrupt(path, $"tensor '{name}' of dtype {dtype} and shape {FormatShape(shape)} needs {bytes} bytes but data_offsets span {offsets[1] - offsets[0]}");
            }
        }
        catch (OverflowException e)
        {
            throw Corrupt(path, $"tensor '{name}' has an impossibly large shape {FormatShape(shape)}", e);
        }

        return new SafetensorsTensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadLongArray(string path, string name, JsonElement value, string field)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw Corrupt(path, $"tensor '{name}' has no '{field}' array");
        }
        var result = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var number) || number < 0)
            {
                throw Corrupt(path, $"tensor '{name}' has a '{field}' entry that is not a non-negative integer");
            }
            result[i++] = number;
        }
        return result;
    }

    private static bool TryToScalarType(string dtype, out torch.ScalarType type)
    {
        (var ok, type) = dtype switch
        {
            "F64" => (true, torch.ScalarType.Float64),
            "F32" => (true, torch.ScalarType.Float32),
            "F16" => (true, torch.ScalarType.Float16),
            "BF16" => (true, torch.ScalarType.BFloat16),
            "I64" => (true, torch.ScalarType.Int64),
            "I32" => (true, torch.ScalarType.Int32),
            "I16" => (true, torch.ScalarType.Int16),
            "I8" => (true, torch.ScalarType.Int8),
            "U8" => (true, torch.ScalarType.Byte),
            "BOOL" => (true, torch.ScalarType.Bool),
            _ => (false, default(torch.ScalarType)),
        };
        return ok;
    }

    private static CheckpointException Corrupt(string path, string detail, Exception? inner = null) =>
        new($"'{path}': {CorruptHeader}: {detail}.", path, inner);

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors I/O here assumes a little-endian machine.");
        }
    }
}
