using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Models.Lora;

/// <summary>
/// One projection's low-rank update: <c>y = x Wᵀ + scale · (x Aᵀ) Bᵀ</c> with <c>A</c> (r, in) and <c>B</c> (out, r).
/// Held by a <see cref="LoraAdapter"/> (which owns the parameters) and read by the layer that owns the projection.
/// </summary>
internal sealed class LoraDelta(Parameter a, Parameter b, double scale)
{
    /// <summary><c>A</c>, (r, in_features).</summary>
    public Parameter A { get; } = a;

    /// <summary><c>B</c>, (out_features, r); zeros when new, so a fresh adapter leaves the model unchanged.</summary>
    public Parameter B { get; } = b;

    /// <summary>The update's factor, <c>alpha / r</c>.</summary>
    public double Scale { get; } = scale;

    /// <summary><paramref name="linear"/> applied to <paramref name="x"/>, plus <paramref name="delta"/>'s update when there is one.</summary>
    public static Tensor Project(Linear linear, LoraDelta? delta, Tensor x)
    {
        var y = linear.forward(x);
        if (delta is null)
        {
            return y;
        }

        // Two thin matmuls (in -> r -> out), never the dense (out, in) product: that is what keeps training cheap.
        using var low = nn.functional.linear(x, delta.A);
        using var update = nn.functional.linear(low, delta.B);
        return y.add_(update, alpha: delta.Scale);
    }

    /// <summary>The dense update <c>scale · B A</c>, (out, in), for merging into the weight.</summary>
    public Tensor Dense() => B.matmul(A).mul_(Scale);
}
