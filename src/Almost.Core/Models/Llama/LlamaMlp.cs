using Almost.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>SwiGLU feed-forward block: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>.</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;
#pragma warning restore IDE1006
    private readonly LoraDelta?[] _lora = new LoraDelta?[3];   // gate, up, down (LoraAdapter); not in the state dict

    /// <summary>Creates the block for <paramref name="config"/>.</summary>
    public LlamaMlp(LlamaConfig config) : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: config.MlpBias);
        RegisterComponents();
    }

    /// <summary>The gate, up and down projections (read by <see cref="FusedDecoder"/>).</summary>
    internal (Linear Gate, Linear Up, Linear Down) Projections => (gate_proj, up_proj, down_proj);

    /// <summary>The names of the projections a <see cref="LoraAdapter"/> can adapt, in slot order.</summary>
    internal static readonly string[] ProjectionNames = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>The projection named <paramref name="name"/> (one of <see cref="ProjectionNames"/>).</summary>
    internal Linear Projection(string name) => Array.IndexOf(ProjectionNames, name) switch
    {
        0 => gate_proj, 1 => up_proj, 2 => down_proj,
        _ => throw new ArgumentException($"Unknown MLP projection '{name}'.", nameof(name)),
    };

    /// <summary>Sets (or, with null, removes) the low-rank update added to the projection named <paramref name="name"/>.</summary>
    internal void SetLora(string name, LoraDelta? delta) => _lora[Array.IndexOf(ProjectionNames, name)] = delta;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.silu(LoraDelta.Project(gate_proj, _lora[0], x)) * LoraDelta.Project(up_proj, _lora[1], x);
        return LoraDelta.Project(down_proj, _lora[2], hidden).MoveToOuterDisposeScope();
    }
}
