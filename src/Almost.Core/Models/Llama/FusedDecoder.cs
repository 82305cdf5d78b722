using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// The decoder blocks of one <see cref="LlamaModel"/> on fused copies of their weights (<see cref="FusedDecoderLayer"/>):
/// the inference path of a forward through a <see cref="KvCache"/> without gradients. The copy is taken once per cache
/// (<see cref="KvCache.FusedDecoderFor"/>), so it is as fresh as the cached keys and values: a training step between
/// two generation calls is seen by the next call's new cache. Weights are not fused in the model itself because the
/// module fields must stay Hugging Face's separate projections (state-dict keys equal checkpoint names, and training
/// updates them).
/// </summary>
internal sealed class FusedDecoder : IDisposable
{
    private readonly LlamaModel _model;
    private readonly RotaryEmbedding _rotary;
    private readonly FusedDecoderLayer[] _layers;
    private readonly int _rotatedHeads;
    private readonly int _plainHeads;
    private readonly int _headDim;

    private FusedDecoder(LlamaModel model, RotaryEmbedding rotary, FusedDecoderLayer[] layers)
    {
        _model = model;
        _rotary = rotary;
        _layers = layers;
        _rotatedHeads = model.Config.NumAttentionHeads + model.Config.KeyValueHeads;
        _plainHeads = model.Config.KeyValueHeads;
        _headDim = model.Config.HeadDimension;
    }

    /// <summary>Takes the fused copy of <paramref name="model"/>'s block weights.</summary>
    public static FusedDecoder Create(LlamaModel model)
    {
        using var noGrad = no_grad();
        var blocks = model.Blocks;
        var layers = new FusedDecoderLayer[blocks.Count];
        try
        {
            for (var i = 0; i < layers.Length; i++)
            {
                layers[i] = new FusedDecoderLayer(blocks[i], model.Config, i);
            }
        }
        catch
        {
            foreach (var layer in layers)
            {
                layer?.Dispose();
            }

            throw;
        }

        return new FusedDecoder(model, model.Rotary, layers);
    }

    /// <summary>Whether this copy was taken from <paramref name="model"/>.</summary>
    public bool IsFor(LlamaModel model) => ReferenceEquals(model, _model);

    /// <summary>
    /// Runs every block on the embeddings <paramref name="x"/> (B, T, C) at <paramref name="positionIds"/> (B, T),
    /// writing keys and values to <paramref name="cache"/>; returns the last block's output (B, T, C), before the final norm.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor positionIds, Tensor? mask, KvCache cache, long b, long t)
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = _rotary.ComputeFused(positionIds, x.dtype);                       // (B, T, 1, D)
        if (t == 1)
        {
            // One new token: tables over all q/k/v heads (values get cos 1, sin 0), so each block rotates its whole
            // q/k/v output in one call. They are tiny at T = 1; for a prefill they would cost more than they save.
            cos = cat([cos.expand(b, 1, _rotatedHeads, -1), ones([b, 1, _plainHeads, _headDim], dtype: x.dtype, device: x.device)], 2);
            sin = cat([sin.expand(b, 1, _rotatedHeads, -1), zeros([b, 1, _plainHeads, _headDim], dtype: x.dtype, device: x.device)], 2);
        }

        var h = x.view(b * t, -1);
        foreach (var layer in _layers)
        {
            var next = layer.Forward(h, cos, sin, mask, cache, b, t);
            h.Dispose();
            h = next;
        }

        return h.view(b, t, -1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }
    }
}
