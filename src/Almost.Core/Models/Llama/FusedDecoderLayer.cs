using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// One decoder block for inference, on fused copies of its weights: the query, key and value projections as one
/// (C, (H + 2·KV)·D) matrix and gate/up as one (C, 2·I) matrix, both with the preceding RMSNorm scale folded in, and
/// every matrix stored transposed so a projection is one <c>mm</c>/<c>addmm</c> (the residual add rides on the
/// output and down projections' <c>addmm</c>). A decode step at batch 1 is bound by the fixed cost of each LibTorch
/// call, not by arithmetic, so the block makes about half the calls of <see cref="LlamaDecoderLayer"/> (measured in
/// docs/performance.md). Same math, same results within float rounding (tests hold them to 1e-5).
/// </summary>
internal sealed class FusedDecoderLayer : IDisposable
{
    private readonly Tensor _qkvT;       // (C, (H + 2 KV) D), input norm's scale folded in
    private readonly Tensor? _qkvBias;
    private readonly Tensor _oT;         // (H D, C)
    private readonly Tensor? _oBias;
    private readonly Tensor _gateUpT;    // (C, 2 I), post-attention norm's scale folded in
    private readonly Tensor? _gateUpBias;
    private readonly Tensor _downT;      // (I, C)
    private readonly Tensor? _downBias;
    private readonly double _inputEps;
    private readonly double _postEps;
    private readonly int _layer;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly long _intermediate;

    /// <summary>Takes the fused copy of <paramref name="block"/>'s weights (call under <c>no_grad</c>).</summary>
    public FusedDecoderLayer(LlamaDecoderLayer block, LlamaConfig config, int layerIndex)
    {
        var (attention, mlp, inputNorm, postNorm) = block.Modules;
        var (q, k, v, o) = attention.Projections;
        var (gate, up, down) = mlp.Projections;
        _layer = layerIndex;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDimension;
        _intermediate = config.IntermediateSize;
        _inputEps = inputNorm.Epsilon;
        _postEps = postNorm.Epsilon;
        _qkvT = FoldTransposed([q.weight!, k.weight!, v.weight!], inputNorm.Weight);
        _qkvBias = Concat(q.bias, k.bias, v.bias);
        _oT = o.weight!.t().contiguous().DetachFromDisposeScope();
        _oBias = o.bias?.detach().clone().DetachFromDisposeScope();
        _gateUpT = FoldTransposed([gate.weight!, up.weight!], postNorm.Weight);
        _gateUpBias = Concat(gate.bias, up.bias);
        _downT = down.weight!.t().contiguous().DetachFromDisposeScope();
        _downBias = down.bias?.detach().clone().DetachFromDisposeScope();
    }

    /// <summary>
    /// (rows stacked, times the norm's scale per input column)ᵀ, computed in fp32 and rounded once to the weights' dtype:
    /// <c>linear(norm(x) * w, W) = norm(x) @ (W * w)ᵀ</c>.
    /// </summary>
    private static Tensor FoldTransposed(Tensor[] weights, Tensor normScale)
    {
        using var scope = NewDisposeScope();
        var dtype = weights[0].dtype;
        var stacked = cat(weights.Select(w => w.to(ScalarType.Float32)).ToArray(), 0) * normScale.to(ScalarType.Float32).unsqueeze(0);
        return stacked.t().contiguous().to(dtype).DetachFromDisposeScope();
    }

    private static Tensor? Concat(params Tensor?[] biases) =>
        biases.All(b => b is null) ? null : cat(biases.Select(b => b!).ToArray(), 0).DetachFromDisposeScope();

    /// <summary>
    /// Runs the block on <paramref name="x"/> (B·T, C) and returns the block's output (B·T, C).
    /// <paramref name="cos"/> and <paramref name="sin"/> are <see cref="RotaryEmbedding.ComputeFused"/>'s tables: over
    /// all H + 2·KV heads (values with cos 1, sin 0) for one new token, (B, T, 1, D) for a prefill;
    /// <paramref name="mask"/> as in <see cref="LlamaAttention.forward"/>.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache cache, long b, long t)
    {
        using var scope = NewDisposeScope();
        var normed = RmsNorm.Normalize(x, _inputEps);
        var qkv = (_qkvBias is null ? normed.mm(_qkvT) : addmm(_qkvBias, normed, _qkvT, 1, 1))
            .view(b, t, _heads + 2 * _kvHeads, _headDim);
        Tensor heads;
        if (t == 1)
        {
            // Queries and keys rotate, values pass (their cos is 1 and sin 0): one rotary call for the three.
            heads = RotaryEmbedding.ApplyFused(qkv, cos, sin, _headDim);
        }
        else
        {
            // A prefill: rotate queries and keys with tables broadcast over heads, in place in the fresh projection.
            var queriesAndKeys = qkv.narrow(2, 0, _heads + _kvHeads);
            queriesAndKeys.copy_(RotaryEmbedding.ApplyFused(queriesAndKeys, cos, sin, _headDim));
            heads = qkv;
        }

        heads = heads.transpose(1, 2);                                                 // (B, H + 2 KV, T, D)
        var (keys, values) = cache.AppendKeyValues(_layer, heads.narrow(1, _heads, 2 * _kvHeads), t);
        var y = LlamaAttention.Attend(heads.narrow(1, 0, _heads), keys, values, mask, b, t, _heads, _kvHeads, _headDim);
        y = t == 1 ? y.view(b * t, _heads * _headDim) : y.transpose(1, 2).reshape(b * t, _heads * _headDim);
        var h = addmm(x, y, _oT, 1, 1);                                                // x + o_proj(y)
        if (_oBias is not null)
        {
            h.add_(_oBias);
        }

        var gateUp = RmsNorm.Normalize(h, _postEps);
        gateUp = _gateUpBias is null ? gateUp.mm(_gateUpT) : addmm(_gateUpBias, gateUp, _gateUpT, 1, 1);
        var act = nn.functional.silu(gateUp.narrow(1, 0, _intermediate)).mul_(gateUp.narrow(1, _intermediate, _intermediate));
        var output = addmm(h, act, _downT, 1, 1);                                      // h + down_proj(act)
        if (_downBias is not null)
        {
            output.add_(_downBias);
        }

        return output.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in new[] { _qkvT, _qkvBias, _oT, _oBias, _gateUpT, _gateUpBias, _downT, _downBias })
        {
            tensor?.Dispose();
        }
    }
}
