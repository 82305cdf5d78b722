using TorchSharp;

namespace Almost.Checkpoints;

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">The tensor's name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="DType">The safetensors dtype string, e.g. <c>F32</c>, <c>BF16</c>.</param>
/// <param name="Shape">The tensor's shape; empty for a scalar.</param>
/// <param name="Begin">Start of the tensor's bytes, relative to the start of the data section.</param>
/// <param name="End">End (exclusive) of the tensor's bytes, relative to the start of the data section.</param>
internal sealed record SafetensorsTensorInfo(string Name, string DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>The TorchSharp element type for <see cref="DType"/>.</summary>
    public torch.ScalarType ScalarType => SafetensorsFile.ToScalarType(DType);

    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape as <c>[d0,d1,...]</c>, as used in error messages.</summary>
    public string ShapeText => SafetensorsFile.FormatShape(Shape);
}
