using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// A preallocated key/value cache: one (B, 2 × kv_heads, max_length, head_dim) buffer per layer, keys in the first
/// kv_heads rows and values in the rest. Each forward writes its new positions in place, so decoding never
/// concatenates (no per-step reallocation), and the fused decode path writes a layer's keys and values in one copy.
/// </summary>
/// <remarks>
/// <para>The cache is filled left to right for the whole batch at once: <see cref="Length"/> counts the filled
/// positions, including any left padding of a batch (the attention mask hides those).</para>
/// <para>With <see cref="FusedWeights"/> on, the first no-grad forward through the cache takes a fused copy of the
/// model's projection weights (query/key/value as one matrix, gate/up as one, norms folded in; see
/// <see cref="FusedDecoder"/>), which every later forward through the cache reuses. A cache therefore belongs to one
/// state of the weights — as its cached keys and values already do: after a training step changes the weights,
/// <see cref="Reset"/> the cache (which drops the copy) or create a new one.</para>
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keyValues;
    private readonly Tensor[] _keys;     // views of the first kv_heads rows of _keyValues
    private readonly Tensor[] _values;   // views of the last kv_heads rows
    private readonly long _kvHeads;
    private long _pending;
    private FusedDecoder? _fused;

    /// <summary>Allocates the cache for a batch of <paramref name="batchSize"/> rows and up to <paramref name="maxLength"/> positions.</summary>
    /// <param name="config">The model's architecture.</param>
    /// <param name="batchSize">Rows of every forward through the cache.</param>
    /// <param name="maxLength">Positions the cache can hold (prompt and new tokens).</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="device">The model's device.</param>
    /// <param name="fusedWeights">Decode through fused projection weights (<see cref="FusedWeights"/>).</param>
    public KvCache(LlamaConfig config, long batchSize, long maxLength, ScalarType dtype, Device device, bool fusedWeights = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        BatchSize = batchSize;
        MaxLength = maxLength;
        FusedWeights = fusedWeights;
        _kvHeads = config.KeyValueHeads;
        _keyValues = new Tensor[config.NumHiddenLayers];
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            _keyValues[i] = zeros([batchSize, 2 * _kvHeads, maxLength, config.HeadDimension], dtype: dtype, device: device).DetachFromDisposeScope();
            _keys[i] = _keyValues[i].narrow(1, 0, _kvHeads).DetachFromDisposeScope();
            _values[i] = _keyValues[i].narrow(1, _kvHeads, _kvHeads).DetachFromDisposeScope();
        }
    }

    /// <summary>Rows in the batch (fewer after <see cref="KeepRows"/>).</summary>
    public long BatchSize { get; private set; }

    /// <summary>Positions the cache can hold.</summary>
    public long MaxLength { get; }

    /// <summary>Positions filled so far.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Whether no-grad forwards through this cache run the fused decode path: 3–4 large matrix products per layer
    /// instead of 7 projections, one rotary call for queries and keys, one cache write, and no per-module dispose
    /// scopes. It costs a second copy of the projection weights while the cache lives (a few MB for TinyWorld's zoo;
    /// for a large model on a small GPU, turn it off). Forwards with gradients always take the module path.
    /// </summary>
    public bool FusedWeights { get; }

    /// <summary>Forgets every cached position and the fused copy of the weights (the buffers are kept for reuse).</summary>
    public void Reset()
    {
        Length = 0;
        _pending = 0;
        _fused?.Dispose();
        _fused = null;
    }

    /// <summary>The fused copy of <paramref name="model"/>'s weights, taken on first use (and again for another model).</summary>
    internal FusedDecoder FusedDecoderFor(LlamaModel model)
    {
        if (_fused is null || !_fused.IsFor(model))
        {
            _fused?.Dispose();
            _fused = FusedDecoder.Create(model);
        }

        return _fused;
    }

    /// <summary>
    /// Writes the new keys and values (B, kv_heads, T, head_dim) of layer <paramref name="layer"/> after the filled
    /// positions and returns views of everything cached for that layer, new positions included.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var t = keys.shape[2];
        CheckForward(keys.shape[0], t);
        using (no_grad())
        {
            _keys[layer].narrow(2, Length, t).copy_(keys);
            _values[layer].narrow(2, Length, t).copy_(values);
        }

        _pending = t;
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>
    /// Writes the <paramref name="t"/> new positions of layer <paramref name="layer"/>, given as one (B, 2 × kv_heads,
    /// T, head_dim) tensor (keys first), in one copy; returns views of everything cached for that layer. The caller
    /// checked the forward's shape (<see cref="CheckForward"/>) once for all layers.
    /// </summary>
    internal (Tensor Keys, Tensor Values) AppendKeyValues(int layer, Tensor keyValues, long t)
    {
        _keyValues[layer].narrow(2, Length, t).copy_(keyValues);
        _pending = t;
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>
    /// Fills this empty cache's first positions, in every row, with the positions a one-row cache holds (a prompt
    /// prefix every row shares, prefilled once): the next forward continues after them.
    /// </summary>
    /// <param name="prefix">A cache of one row of the same model (same layers, heads, dtype and device).</param>
    /// <exception cref="InvalidOperationException">This cache is not empty, or the prefix does not fit.</exception>
    /// <exception cref="ArgumentException">The prefix cache has more than one row or another layout.</exception>
    internal void FillPrefixFrom(KvCache prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (Length != 0 || prefix.Length > MaxLength)
        {
            throw new InvalidOperationException($"A shared prefix of {prefix.Length} positions needs an empty cache of at least that capacity (this one holds {Length} of {MaxLength}).");
        }

        if (prefix.BatchSize != 1 || prefix._keyValues.Length != _keyValues.Length || prefix._kvHeads != _kvHeads)
        {
            throw new ArgumentException("The prefix cache must have one row and this cache's layers and heads.", nameof(prefix));
        }

        using (no_grad())
        {
            for (var i = 0; i < _keyValues.Length; i++)
            {
                // (1, 2KV, P, D) broadcast to every row.
                _keyValues[i].narrow(2, 0, prefix.Length).copy_(prefix._keyValues[i].narrow(2, 0, prefix.Length));
            }
        }

        Length = prefix.Length;
    }

    /// <summary>
    /// Keeps only the given rows of the batch, in the given order, with everything cached for them (a generator drops
    /// the rows that finished, so later steps run on fewer rows). The fused weights, if taken, are kept.
    /// </summary>
    /// <param name="rows">Row indices (int64, on the cache's device), each below <see cref="BatchSize"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is empty or not one-dimensional.</exception>
    internal void KeepRows(Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.dim() != 1 || rows.shape[0] == 0)
        {
            throw new ArgumentException($"Rows to keep must be a non-empty 1-D index tensor; got shape [{string.Join(", ", rows.shape)}].", nameof(rows));
        }

        using (no_grad())
        {
            for (var i = 0; i < _keyValues.Length; i++)
            {
                using var scope = NewDisposeScope();   // the gathered copy below is a temporary
                // Only the filled positions are copied; the rest of the new buffer is written by later forwards.
                var kept = empty([rows.shape[0], .. _keyValues[i].shape[1..]], dtype: _keyValues[i].dtype, device: _keyValues[i].device).DetachFromDisposeScope();
                if (Length > 0)
                {
                    kept.narrow(2, 0, Length).copy_(_keyValues[i].narrow(2, 0, Length).index_select(0, rows));
                }

                _keys[i].Dispose();
                _values[i].Dispose();
                _keyValues[i].Dispose();
                _keyValues[i] = kept;
                _keys[i] = kept.narrow(1, 0, _kvHeads).DetachFromDisposeScope();
                _values[i] = kept.narrow(1, _kvHeads, _kvHeads).DetachFromDisposeScope();
            }
        }

        BatchSize = rows.shape[0];
    }

    /// <summary>Throws when a forward of <paramref name="batch"/> rows and <paramref name="t"/> new positions does not fit.</summary>
    internal void CheckForward(long batch, long t)
    {
        if (Length + t > MaxLength)
        {
            throw new InvalidOperationException($"KV cache overflow: {Length} cached + {t} new positions > capacity {MaxLength}.");
        }

        if (batch != BatchSize)
        {
            throw new ArgumentException($"KV cache holds {BatchSize} rows but the forward has {batch}.");
        }
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
        _fused?.Dispose();
        _fused = null;
        foreach (var t in _keys.Concat(_values).Concat(_keyValues))
        {
            t.Dispose();
        }
    }
}
