using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// A preallocated key/value cache: one (B, kv_heads, max_length, head_dim) buffer per layer for keys and for values.
/// Each forward writes its new positions in place, so decoding never concatenates (no per-step reallocation).
/// </summary>
/// <remarks>
/// The cache is filled left to right for the whole batch at once: <see cref="Length"/> counts the filled positions,
/// including any left padding of a batch (the attention mask hides those).
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;
    private long _pending;

    /// <summary>Allocates the cache for a batch of <paramref name="batchSize"/> rows and up to <paramref name="maxLength"/> positions.</summary>
    public KvCache(LlamaConfig config, long batchSize, long maxLength, ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        BatchSize = batchSize;
        MaxLength = maxLength;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            _keys[i] = zeros([batchSize, config.KeyValueHeads, maxLength, config.HeadDimension], dtype: dtype, device: device);
            _values[i] = zeros([batchSize, config.KeyValueHeads, maxLength, config.HeadDimension], dtype: dtype, device: device);
            _keys[i].DetachFromDisposeScope();
            _values[i].DetachFromDisposeScope();
        }
    }

    /// <summary>Rows in the batch.</summary>
    public long BatchSize { get; }

    /// <summary>Positions the cache can hold.</summary>
    public long MaxLength { get; }

    /// <summary>Positions filled so far.</summary>
    public long Length { get; private set; }

    /// <summary>Forgets every cached position (the buffers are kept for reuse).</summary>
    public void Reset()
    {
        Length = 0;
        _pending = 0;
    }

    /// <summary>
    /// Writes the new keys and values (B, kv_heads, T, head_dim) of layer <paramref name="layer"/> after the filled
    /// positions and returns views of everything cached for that layer, new positions included.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var t = keys.shape[2];
        if (Length + t > MaxLength)
        {
            throw new InvalidOperationException($"KV cache overflow: {Length} cached + {t} new positions > capacity {MaxLength}.");
        }

        if (keys.shape[0] != BatchSize)
        {
            throw new ArgumentException($"KV cache holds {BatchSize} rows but the forward has {keys.shape[0]}.");
        }

        using (no_grad())
        {
            _keys[layer].narrow(2, Length, t).copy_(keys);
            _values[layer].narrow(2, Length, t).copy_(values);
        }

        _pending = t;
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Marks the positions written by the last forward as filled; called by the model once every layer ran.</summary>
    internal void Commit()
    {
        Length += _pending;
        _pending = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values))
        {
            t.Dispose();
        }
    }
}
