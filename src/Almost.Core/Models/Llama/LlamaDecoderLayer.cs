using Almost.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>One pre-norm transformer block: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>.</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly LlamaAttention self_attn;
    private readonly LlamaMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;
#pragma warning restore IDE1006

    /// <summary>Creates layer <paramref name="layerIndex"/>.</summary>
    public LlamaDecoderLayer(LlamaConfig config, int layerIndex) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(config, layerIndex);
        mlp = new LlamaMlp(config);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>The block's modules (read by <see cref="FusedDecoder"/>).</summary>
    internal (LlamaAttention Attention, LlamaMlp Mlp, RmsNorm InputNorm, RmsNorm PostAttentionNorm) Modules =>
        (self_attn, mlp, input_layernorm, post_attention_layernorm);

    /// <summary>
    /// The module path of projection <paramref name="name"/> within a block (<c>self_attn.q_proj</c>, <c>mlp.up_proj</c>),
    /// for a <see cref="LoraAdapter"/>'s keys.
    /// </summary>
    internal static string PathOf(string name) =>
        LlamaAttention.ProjectionNames.Contains(name) ? $"self_attn.{name}" : $"mlp.{name}";

    /// <summary>The projection named <paramref name="name"/> (of the attention or the MLP).</summary>
    internal Linear Projection(string name) =>
        LlamaAttention.ProjectionNames.Contains(name) ? self_attn.Projection(name) : mlp.Projection(name);

    /// <summary>Sets (or, with null, removes) the low-rank update of the projection named <paramref name="name"/>.</summary>
    internal void SetLora(string name, LoraDelta? delta)
    {
        if (LlamaAttention.ProjectionNames.Contains(name))
        {
            self_attn.SetLora(name, delta);
        }
        else
        {
            mlp.SetLora(name, delta);
        }
    }

    /// <summary>Runs the block on <paramref name="x"/> (B, T, C).</summary>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask, cache);
        var output = h + mlp.forward(post_attention_layernorm.forward(h));
        return output.MoveToOuterDisposeScope();
    }
}
