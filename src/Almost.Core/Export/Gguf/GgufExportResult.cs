namespace Almost.Export.Gguf;

/// <summary>What <see cref="GgufExporter"/> wrote.</summary>
/// <param name="Path">The GGUF file.</param>
/// <param name="Architecture">The llama.cpp architecture (<c>llama</c> for llama and mistral, <c>qwen2</c>).</param>
/// <param name="Bytes">The file size.</param>
/// <param name="TensorTypes">
/// Each tensor's llama.cpp name and storage type; a Q8_0 export lists the matrices that fell back to F16.
/// </param>
public sealed record GgufExportResult(
    string Path,
    string Architecture,
    long Bytes,
    IReadOnlyDictionary<string, GgufTensorType> TensorTypes);
