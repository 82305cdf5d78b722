using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>
/// Root-mean-square layer norm. The statistics are computed in fp32 whatever the weight dtype (bf16 variance
/// underflows), then the result is cast back and scaled: the same order of operations as Hugging Face's LlamaRMSNorm.
/// </summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    // Field name = HF parameter name.
#pragma warning disable IDE1006
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private readonly double _eps;

    /// <summary>Creates the norm with unit weights.</summary>
    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <summary>The scale vector.</summary>
    public Parameter Weight => weight;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (weight * Normalize(x, _eps)).MoveToOuterDisposeScope();
    }

    /// <summary>The epsilon added to the mean square.</summary>
    internal double Epsilon => _eps;

    /// <summary>
    /// <paramref name="x"/> divided by its root mean square over the last dimension, statistics in fp32, the result in
    /// <paramref name="x"/>'s dtype: the norm without its scale (which <see cref="FusedDecoder"/> folds into the next
    /// projection). Leaves its intermediates in the caller's dispose scope.
    /// </summary>
    internal static Tensor Normalize(Tensor x, double eps)
    {
        var inputDtype = x.dtype;
        var h = inputDtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var variance = h.square().mean([-1L], keepdim: true);
        h = h * variance.add_(eps).rsqrt_();
        return inputDtype == ScalarType.Float32 ? h : h.to(inputDtype);
    }
}
