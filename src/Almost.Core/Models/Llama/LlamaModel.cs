using Almost.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>
/// The decoder trunk: token embeddings, <c>num_hidden_layers</c> blocks, final RMSNorm. Returns the final (normed)
/// hidden states, on which a language-model head, a reward head or a value head can sit.
/// </summary>
public sealed class LlamaModel : nn.Module
{
#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
#pragma warning restore IDE1006
    private readonly RotaryEmbedding _rotary;

    /// <summary>Creates the trunk for <paramref name="config"/> (fp32, CPU; the owner moves it).</summary>
    /// <exception cref="ArgumentException">The config is invalid (<see cref="LlamaConfig.Validate"/>) or the model would not fit in memory.</exception>
    public LlamaModel(LlamaConfig config) : base(nameof(LlamaModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        // Before the first allocation: a config claiming 10^9 units must fail here with the field named, not after
        // minutes of allocating (or swapping).
        config.Validate();
        config.EnsureFitsInMemory();
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = new ModuleList<LlamaDecoderLayer>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            layers.Add(new LlamaDecoderLayer(config, i));
        }

        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        _rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The input embedding (<c>model.embed_tokens</c>), shared with the output head when embeddings are tied.</summary>
    public Embedding EmbedTokens => embed_tokens;

    /// <summary>The decoder blocks (read by <see cref="FusedDecoder"/>).</summary>
    internal IList<LlamaDecoderLayer> Blocks => layers;

    /// <summary>The rotary embedding (shared with <see cref="FusedDecoder"/>).</summary>
    internal RotaryEmbedding Rotary => _rotary;

    /// <summary>The LoRA adapter attached to this trunk's projections (<see cref="LoraAdapter.Attach(LlamaModel, LoraOptions, long)"/>), or null.</summary>
    public LoraAdapter? Adapter { get; internal set; }

    /// <summary>
    /// Runs the trunk. <paramref name="inputIds"/> (B, T) are the new tokens; <paramref name="attentionMask"/> (B, S),
    /// 1 for real tokens and 0 for padding, covers the cached positions and the new ones (S = cached + T); null means
    /// no padding. <paramref name="positionIds"/> (B, T) default to the count of real tokens before each one, so left
    /// padding does not shift positions. Returns the normed hidden states (B, T, C).
    /// </summary>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        long s = past + t;
        if (attentionMask is not null && (attentionMask.shape[0] != b || attentionMask.shape[1] != s))
        {
            throw new ArgumentException(
                $"attention_mask has shape [{string.Join(", ", attentionMask.shape)}]; expected [{b}, {s}] (cached {past} + new {t} positions).",
                nameof(attentionMask));
        }

        positionIds ??= DefaultPositions(attentionMask, b, t, past, inputIds.device);
        var x = embed_tokens.forward(inputIds);                                    // (B, T, C)
        var mask = BuildMask(attentionMask, t, past, inputIds.device);             // (B, 1, T, S) or null
        if (cache is { FusedWeights: true } && Adapter is null && is_grad_enabled() is false)
        {
            // (Not with an attached LoRA adapter: the fused weights are the base weights only.)
            // Inference through a cache: the blocks on fused weights (the same math in about half the LibTorch calls).
            cache.CheckForward(b, t);
            var fused = cache.FusedDecoderFor(this).Forward(x, positionIds, mask, cache, b, t);
            x.Dispose();
            x = fused;
        }
        else
        {
            var (cos, sin) = _rotary.Compute(positionIds, x.dtype);
            foreach (var layer in layers)
            {
                // Release each layer's input as soon as the next one exists, so a no-grad forward holds two activations,
                // not one per layer. With grad this only drops our handle: autograd keeps what backward needs.
                var next = layer.forward(x, cos, sin, mask, cache);
                x.Dispose();
                x = next;
            }
        }

        cache?.Commit();
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rotary.Dispose();
        }

        base.Dispose(disposing);
    }

    private static Tensor DefaultPositions(Tensor? attentionMask, long b, long t, long past, Device device)
    {
        if (attentionMask is null)
        {
            return arange(past, past + t, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(b, t);
        }

        // Position of a token = number of real tokens before it; padding gets 0 (its output is never used).
        var positions = attentionMask.to(ScalarType.Int64).cumsum(1) - 1;
        return positions.clamp_min(0).narrow(1, past, t);
    }

    /// <summary>
    /// The boolean attention mask (B, 1, T, S): causal over absolute positions and restricted to real keys. Each query
    /// may always see itself, so a padding query never has an empty row (which would make softmax produce NaN).
    /// Null when plain causal attention is exact (no padding, and no cache or a single new token).
    /// </summary>
    private static Tensor? BuildMask(Tensor? attentionMask, long t, long past, Device device)
    {
        if (attentionMask is null && (past == 0 || t == 1))
        {
            return null; // plain causal (no cache), or one new token that may see every cached position
        }

        var s = past + t;
        var queryPos = arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(1);   // (T, 1)
        var keyPos = arange(0, s, dtype: ScalarType.Int64, device: device).unsqueeze(0);       // (1, S)
        var causal = keyPos.le(queryPos);                                                     // (T, S)
        if (attentionMask is null)
        {
            return causal.unsqueeze(0).unsqueeze(0);
        }

        var realKeys = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1);            // (B, 1, 1, S)
        return causal.unsqueeze(0).unsqueeze(0).logical_and(realKeys).logical_or(keyPos.eq(queryPos));
    }
}
