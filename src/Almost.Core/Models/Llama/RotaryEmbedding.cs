using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// Rotary position embeddings in Hugging Face's rotate-half layout: the first and second halves of each head's
/// dimensions form the (x, y) pairs. Frequencies are computed in fp32 from explicit position ids, so left padding
/// never shifts positions. Not a module: the inverse frequencies are derived from the config, not saved (and a module
/// buffer would be cast to the model's dtype, which would round them in bf16). The owner disposes it.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly double[] _invFreq;

    // _invFreq on the device last asked for: one host-to-device copy, not one per step. Read without a lock: a model
    // lives on one device, so after the first forward every reader finds it in place.
    private Tensor? _invFreqTensor;
    private bool _disposed;

    /// <summary>Creates the embedding for <paramref name="config"/>, applying its <c>rope_scaling</c>.</summary>
    public RotaryEmbedding(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var dim = config.HeadDimension;
        _invFreq = new double[dim / 2];
        for (var i = 0; i < dim / 2; i++)
        {
            _invFreq[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / dim);
        }

        if (config.RopeScaling is { } scaling)
        {
            Scale(_invFreq, scaling);
        }
    }

    /// <summary>The inverse frequencies after scaling (length head_dim / 2).</summary>
    public IReadOnlyList<double> InverseFrequencies => _invFreq;

    private static void Scale(double[] invFreq, RopeScaling scaling)
    {
        switch (scaling.Type)
        {
            case RopeScalingType.Linear:
                for (var i = 0; i < invFreq.Length; i++)
                {
                    invFreq[i] /= scaling.Factor;
                }

                break;
            case RopeScalingType.Llama3:
                double lowWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.LowFreqFactor;
                double highWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.HighFreqFactor;
                for (var i = 0; i < invFreq.Length; i++)
                {
                    var wavelen = 2 * Math.PI / invFreq[i];
                    if (wavelen > lowWavelen)
                    {
                        invFreq[i] /= scaling.Factor;
                    }
                    else if (wavelen >= highWavelen)
                    {
                        var smooth = (scaling.OriginalMaxPositionEmbeddings / wavelen - scaling.LowFreqFactor)
                                     / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                        invFreq[i] = (1 - smooth) * invFreq[i] / scaling.Factor + smooth * invFreq[i];
                    }
                }

                break;
        }
    }

    /// <summary>
    /// Cosines and sines for <paramref name="positionIds"/> (B, T), each (B, 1, T, head_dim) in <paramref name="dtype"/>,
    /// ready to broadcast over heads.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = Frequencies(positionIds);
        var emb = cat([freqs, freqs], -1).unsqueeze(1);                             // (B, 1, T, D)
        var cos = emb.cos().to(dtype);
        var sin = emb.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Cosines and sign-folded sines for <see cref="ApplyFused"/>, each (B, T, 1, head_dim) in <paramref name="dtype"/>
    /// (heads-last layout, broadcast over heads). The sine's first half is negated, so that <c>rotate_half(x) * sin</c>
    /// becomes <c>roll(x, D/2) * sin'</c>: one call instead of two slices, a negation and a concatenation.
    /// </summary>
    public (Tensor Cos, Tensor Sin) ComputeFused(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = Frequencies(positionIds);
        var cosHalf = freqs.cos();
        var sinHalf = freqs.sin();
        var cos = cat([cosHalf, cosHalf], -1).unsqueeze(2).to(dtype);
        var sin = cat([-sinHalf, sinHalf], -1).unsqueeze(2).to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Angles (B, T, head_dim / 2) in fp32: each position times each inverse frequency.</summary>
    private Tensor Frequencies(Tensor positionIds) =>
        positionIds.to(ScalarType.Float32).unsqueeze(-1) * InverseFrequencyTensor(positionIds.device);

    private Tensor InverseFrequencyTensor(Device device)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            var current = Volatile.Read(ref _invFreqTensor);
            if (current is not null && current.device_type == device.type && current.device_index == device.index)
            {
                return current;
            }

            var created = tensor(_invFreq, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
            if (ReferenceEquals(Interlocked.CompareExchange(ref _invFreqTensor, created, current), current))
            {
                // Replaced the copy of another device (the model was moved; no forward runs on the old one any more).
                current?.Dispose();
                return created;
            }

            created.Dispose(); // another thread installed its copy first: use that one
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _invFreqTensor, null)?.Dispose();
    }

    /// <summary>
    /// Applies the rotation to <paramref name="x"/> (B, T, heads, D) with <see cref="ComputeFused"/>'s tables:
    /// <c>x * cos + roll(x, D/2) * sin'</c>, which equals <c>x * cos + rotate_half(x) * sin</c>. Three LibTorch calls (<paramref name="headDim"/> is passed, not read from a shape: each shape read is a call too).
    /// Leaves the result in the caller's dispose scope.
    /// </summary>
    public static Tensor ApplyFused(Tensor x, Tensor cos, Tensor signedSin, long headDim) =>
        (x * cos).addcmul_(x.roll(headDim / 2, -1), signedSin, 1);

    /// <summary>Applies the rotation to <paramref name="x"/> (B, H, T, D): <c>x * cos + rotate_half(x) * sin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
