using Almost.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>
/// Grouped-query self-attention with rotary embeddings, through <c>scaled_dot_product_attention</c>.
/// </summary>
internal sealed class LlamaAttention : nn.Module
{
#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
#pragma warning restore IDE1006
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layer;
    private readonly LoraDelta?[] _lora = new LoraDelta?[4];   // q, k, v, o (LoraAdapter); not registered: not in the state dict

    /// <summary>Creates the attention of layer <paramref name="layerIndex"/>.</summary>
    public LlamaAttention(LlamaConfig config, int layerIndex) : base(nameof(LlamaAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDimension;
        _layer = layerIndex;
        q_proj = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: config.QkvBias);
        k_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias);
        v_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.QkvBias);
        o_proj = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: config.OutputBias);
        RegisterComponents();
    }

    /// <summary>
    /// Attends over <paramref name="x"/> (B, T, C). <paramref name="mask"/> is a boolean (B, 1, T, S) mask (true = may
    /// attend) or null for plain causal attention (with a cache, null is only valid for a single new token, which may
    /// see every cached position); <paramref name="cache"/> receives the new keys/values.
    /// </summary>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = LoraDelta.Project(q_proj, _lora[0], x).view(b, t, _heads, _headDim).transpose(1, 2);      // (B, H, T, D)
        var k = LoraDelta.Project(k_proj, _lora[1], x).view(b, t, _kvHeads, _headDim).transpose(1, 2);    // (B, KV, T, D)
        var v = LoraDelta.Project(v_proj, _lora[2], x).view(b, t, _kvHeads, _headDim).transpose(1, 2);    // (B, KV, T, D)
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        if (cache is not null)
        {
            (k, v) = cache.Append(_layer, k, v);                                      // (B, KV, S, D)
        }

        var y = Attend(q, k, v, mask, b, t, _heads, _kvHeads, _headDim);                // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, _heads * _headDim);
        return LoraDelta.Project(o_proj, _lora[3], y).MoveToOuterDisposeScope();
    }

    /// <summary>The names of the projections a <see cref="LoraAdapter"/> can adapt, in slot order.</summary>
    internal static readonly string[] ProjectionNames = ["q_proj", "k_proj", "v_proj", "o_proj"];

    /// <summary>The projection named <paramref name="name"/> (one of <see cref="ProjectionNames"/>).</summary>
    internal Linear Projection(string name) => Array.IndexOf(ProjectionNames, name) switch
    {
        0 => q_proj, 1 => k_proj, 2 => v_proj, 3 => o_proj,
        _ => throw new ArgumentException($"Unknown attention projection '{name}'.", nameof(name)),
    };

    /// <summary>Sets (or, with null, removes) the low-rank update added to the projection named <paramref name="name"/>.</summary>
    internal void SetLora(string name, LoraDelta? delta) => _lora[Array.IndexOf(ProjectionNames, name)] = delta;

    /// <summary>The query, key, value and output projections (read by <see cref="FusedDecoder"/>).</summary>
    internal (Linear Q, Linear K, Linear V, Linear O) Projections => (q_proj, k_proj, v_proj, o_proj);

    /// <summary>
    /// Attention of queries <paramref name="q"/> (B, H, T, D) over keys and values (B, KV, S, D); returns (B, H, T, D).
    /// <paramref name="mask"/> as in <see cref="forward"/>; null with T &gt; 1 means plain causal over fresh keys (S = T).
    /// </summary>
    internal static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, long b, long t, int heads, int kvHeads, int headDim)
    {
        if (kvHeads == heads)
        {
            return Sdpa(q, k, v, mask, causal: t > 1);
        }

        var groups = heads / kvHeads;
        if (mask is null && t > 1)
        {
            // Plain causal attention over fresh keys only (training, a prefill without padding): the kernel's causal
            // path needs one row per head, so the keys are repeated here once. This copy is the size of the new keys,
            // not of a cache. Each key/value head serves heads/kv_heads consecutive query heads (HF's repeat_kv layout).
            return Sdpa(q, k.repeat_interleave(groups, dim: 1), v.repeat_interleave(groups, dim: 1), mask: null, causal: true);
        }

        // Grouped-query attention without copying keys or values (the whole cache, when decoding): the query heads
        // that share a key/value head become extra query rows of that head, (B, KV, G*T, D), and the mask is
        // repeated over the G groups (it is small: one bool per query row and key).
        var grouped = q.reshape(b, kvHeads, groups * t, headDim);
        var groupedMask = mask?.unsqueeze(2).expand(-1, -1, groups, -1, -1).reshape(mask.shape[0], 1, groups * t, mask.shape[^1]);
        return Sdpa(grouped, k, v, groupedMask, causal: false).reshape(b, heads, t, headDim);
    }

    private static Tensor Sdpa(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal) => mask is null
        ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: causal)
        : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
}
