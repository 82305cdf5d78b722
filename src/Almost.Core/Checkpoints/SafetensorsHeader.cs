namespace Almost.Checkpoints;

/// <summary>The validated header of a safetensors file: its metadata and the location of every tensor.</summary>
internal sealed class SafetensorsHeader
{
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    internal SafetensorsHeader(
        string path, long headerLength, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensorInfo> tensors)
    {
        Path = path;
        HeaderLength = headerLength;
        Metadata = metadata;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file the header was read from.</summary>
    public string Path { get; }

    /// <summary>Length in bytes of the JSON header (the N in the 8-byte prefix), padding included.</summary>
    public long HeaderLength { get; }

    /// <summary>Offset in the file where the data section starts: 8 + <see cref="HeaderLength"/>.</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>The free-form string metadata under <c>__metadata__</c>, e.g. <c>format</c> = <c>pt</c>; empty if none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors, in data-offset order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>Looks up a tensor entry by name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="info">The entry, when found.</param>
    /// <returns>Whether the file holds a tensor of that name.</returns>
    public bool TryGetTensor(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafetensorsTensorInfo? info) =>
        _byName.TryGetValue(name, out info);
}
