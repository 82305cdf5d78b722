using Almost.Checkpoints;
using Almost.Devices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>
/// PPO's value head on the policy trunk (<see cref="CriticMode.SharedTrunk"/>): a Linear(hidden, 1) with bias, in fp32,
/// applied to the policy's final hidden states, so one forward of the trunk gives both the logits and the values. It
/// is saved on its own as <c>value_head.safetensors</c> with TRL's <c>AutoModelForCausalLMWithValueHead</c> names
/// (<c>v_head.summary.weight</c>, <c>v_head.summary.bias</c>), next to the policy's unchanged <c>model.safetensors</c>.
/// </summary>
internal sealed class PolicyValueHead : nn.Module
{
    /// <summary>The prefix of the head's tensors in <c>value_head.safetensors</c> (TRL's <c>v_head.</c>).</summary>
    private const string FilePrefix = "v_head.";

#pragma warning disable IDE1006 // Field name = TRL's parameter name (v_head.summary.*).
    private readonly Linear summary;
#pragma warning restore IDE1006

    /// <summary>
    /// A fresh head: weight ~ N(0, (1 / (hidden + 1))²) from <paramref name="seed"/> (OpenRLHF's value-head
    /// initialisation, the one the reward model's head uses), bias 0; so initial values are near 0 and the trunk gets
    /// a value gradient from the first step.
    /// </summary>
    /// <param name="hiddenSize">The policy's hidden size.</param>
    /// <param name="seed">Seed of the initialisation; same seed, same head.</param>
    /// <param name="device">The policy's device.</param>
    public PolicyValueHead(int hiddenSize, long seed, Device device) : base(nameof(PolicyValueHead))
    {
        summary = nn.Linear(hiddenSize, 1, hasBias: true, dtype: ScalarType.Float32);
        RegisterComponents();
        using (var generator = Determinism.CreateGenerator(seed, CPU, "ppo-value-head-init"))
        using (no_grad())
        {
            using var weight = randn(summary.weight!.shape, dtype: ScalarType.Float32, generator: generator) / (hiddenSize + 1.0);
            summary.weight!.copy_(weight);
            summary.bias!.zero_();
        }

        this.to(device);
    }

    /// <summary>File name of the head, in the PPO output folder and in every checkpoint.</summary>
    public const string FileName = PpoTrainer.ValueHeadFileName;

    /// <summary>Parameters of a head on a trunk of <paramref name="hiddenSize"/>: the weight row and the bias.</summary>
    /// <param name="hiddenSize">The trunk's hidden size.</param>
    /// <returns>hidden + 1.</returns>
    public static long ParameterCount(int hiddenSize) => hiddenSize + 1L;

    /// <summary>Values (…) in fp32 of hidden states (…, C) of any dtype.</summary>
    /// <param name="hidden">Final (normed) hidden states of the policy trunk.</param>
    /// <returns>One value per position.</returns>
    public Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return summary.forward(hidden.to(ScalarType.Float32)).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Writes <c>value_head.safetensors</c> into <paramref name="folder"/> (atomically).</summary>
    /// <param name="folder">The output or checkpoint folder.</param>
    public void Save(string folder) =>
        HfCheckpoint.SaveFile(named_parameters().ToDictionary(p => FilePrefix + p.name, p => (Tensor)p.parameter), Path.Combine(folder, FileName));

    /// <summary>Reads <c>value_head.safetensors</c> of <paramref name="folder"/> into the head, exactly (shapes must match).</summary>
    /// <param name="folder">The output or checkpoint folder.</param>
    /// <exception cref="CheckpointException">The file is missing or corrupt, or its tensors are not this head's.</exception>
    public void Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        var stored = HfCheckpoint.LoadFile(path);
        try
        {
            var renamed = stored.ToDictionary(
                kv => kv.Key.StartsWith(FilePrefix, StringComparison.Ordinal) ? kv.Key[FilePrefix.Length..] : kv.Key, kv => kv.Value);
            HfCheckpoint.LoadStateDictInto(this, renamed, path);
        }
        finally
        {
            foreach (var tensor in stored.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
