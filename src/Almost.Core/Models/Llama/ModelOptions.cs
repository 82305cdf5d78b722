using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>Where and how a model is built or loaded.</summary>
public sealed record ModelOptions
{
    /// <summary>Device name (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>); null = $ALMOST_DEVICE, else CUDA when available, else CPU.</summary>
    public string? Device { get; init; }

    /// <summary>Weight dtype; null = $ALMOST_DTYPE, else fp32 on CPU and bf16 on CUDA.</summary>
    public ScalarType? DType { get; init; }

    /// <summary>Seed of the random initialisation (ignored when loading weights). Default 0.</summary>
    public long Seed { get; init; }
}
