using Almost.Checkpoints;
using Almost.Devices;
using Almost.IO;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Almost.Models.Llama;

/// <summary>
/// A LLaMA-family causal language model (llama, mistral, qwen2): the <see cref="LlamaModel"/> trunk plus an output
/// projection (<c>lm_head</c>, or the embedding matrix when <c>tie_word_embeddings</c>). State-dict keys equal the
/// Hugging Face names (<c>model.layers.0.self_attn.q_proj.weight</c>, <c>lm_head.weight</c>).
/// </summary>
/// <remarks>
/// Build with <see cref="Create"/> (random weights) or <c>FromPretrained</c> (a Hugging Face folder). The model lives on
/// one device in one dtype; logits come out in fp32.
/// </remarks>
public sealed class LlamaForCausalLM : nn.Module
{
#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly LlamaModel model;
    private readonly Linear? lm_head;
#pragma warning restore IDE1006

    private LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        model = new LlamaModel(config);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        }

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The trunk (<c>model.*</c>), for heads that sit on the final hidden states.</summary>
    public LlamaModel Model => model;

    /// <summary>The device the weights are on.</summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>The weights' dtype.</summary>
    public ScalarType DType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Builds a model with random weights: every matrix ~ N(0, initializer_range) from a generator seeded with
    /// <see cref="ModelOptions.Seed"/>, biases 0, norms 1 (Hugging Face's initialisation). Same seed, same weights.
    /// </summary>
    public static LlamaForCausalLM Create(LlamaConfig config, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new ModelOptions();
        TorchNative.EnsureLoaded();
        var device = ComputeDevice.Resolve(options.Device);
        var dtype = ComputeDevice.ResolveDType(device, options.DType);
        var lm = new LlamaForCausalLM(config);
        lm.InitializeWeights(options.Seed);
        lm.MoveTo(device, dtype);
        return lm;
    }

    /// <summary>Builds the module skeleton on <paramref name="device"/> in <paramref name="dtype"/> without initialising it (for loading).</summary>
    internal static LlamaForCausalLM CreateUninitialized(LlamaConfig config, Device device, ScalarType dtype)
    {
        TorchNative.EnsureLoaded();
        var lm = new LlamaForCausalLM(config);
        lm.MoveTo(device, dtype);
        return lm;
    }

    /// <summary>
    /// Loads a Hugging Face checkpoint folder (<c>config.json</c> + <c>model.safetensors</c> or a sharded
    /// <c>model.safetensors.index.json</c>). The model is built on the resolved device in the resolved dtype
    /// (<see cref="ModelOptions"/>) and the stored tensors, fp32/bf16/fp16, are converted into it.
    /// </summary>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">config.json is malformed or names an unsupported model type.</exception>
    /// <exception cref="CheckpointException">The weights are corrupt, pickle-only, or have missing / unexpected / wrong-shape tensors.</exception>
    public static LlamaForCausalLM FromPretrained(string folder, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new ModelOptions();
        var config = LlamaConfig.Load(folder);
        var device = ComputeDevice.Resolve(options.Device);
        var dtype = ComputeDevice.ResolveDType(device, options.DType);
        var lm = CreateUninitialized(config, device, dtype);
        try
        {
            lm.LoadWeights(folder);
        }
        catch
        {
            lm.Dispose();
            throw;
        }

        return lm;
    }

    /// <summary>
    /// Saves <c>config.json</c> and the weights in Hugging Face layout, sharded above
    /// <paramref name="maxShardBytes"/>, all files replaced together: each is written whole to a temporary first,
    /// so a failed or killed save leaves the old folder (or, once every file is on disk, the next load finishes it),
    /// never new weights next to an old or missing config. The folder then opens with
    /// <c>AutoModelForCausalLM.from_pretrained</c> in Python transformers and in vLLM.
    /// </summary>
    /// <param name="folder">Target folder (created when missing).</param>
    /// <param name="dtype">dtype to store the weights in; null keeps the model's.</param>
    /// <param name="maxShardBytes">Largest shard; default 5 GB as in transformers.</param>
    public void SavePretrained(string folder, ScalarType? dtype = null, long maxShardBytes = CheckpointSaveOptions.DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var saved = dtype ?? DType;
        using var transaction = FolderTransaction.Begin(folder);
        HfCheckpoint.Stage(state_dict(), transaction, new CheckpointSaveOptions { DType = saved, MaxShardBytes = maxShardBytes });
        LlamaConfig.Stage(transaction, Config.ToJson(ComputeDevice.DTypeName(saved)));
        transaction.Commit();
    }

    /// <summary>
    /// Loads the weights of a Hugging Face checkpoint folder into this model (shapes must match; stored dtypes are
    /// converted to the model's). Tied checkpoints may or may not carry a copy of the embedding as <c>lm_head.weight</c>,
    /// and older ones carry rotary <c>inv_freq</c> buffers: both are ignored, by the one rule shared with every
    /// model here that loads a causal-LM checkpoint.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <exception cref="CheckpointException">Missing, unexpected or wrong-shape tensors, or a config.json next to them that is unreadable or describes another architecture.</exception>
    public void LoadWeights(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Config.CheckSavedConfig(folder);
        HfCheckpoint.LoadInto(this, folder, CausalLmLoadOptions(Config));
    }

    /// <summary>
    /// The load options for a causal-LM checkpoint of <paramref name="config"/>: a tied model ignores a stored
    /// <c>lm_head.weight</c>; everyone ignores rotary <c>inv_freq</c> buffers; <paramref name="alsoIgnore"/> adds names
    /// (e.g. a reward model initialised from a causal LM ignores the whole <c>lm_head</c>).
    /// </summary>
    internal static CheckpointLoadOptions CausalLmLoadOptions(LlamaConfig config, Func<string, bool>? alsoIgnore = null) => new()
    {
        IgnoreUnexpected = name => (config.TieWordEmbeddings && name == "lm_head.weight")
                                   || name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
                                   || (alsoIgnore?.Invoke(name) ?? false),
    };

    private void MoveTo(Device device, ScalarType dtype)
    {
        this.to(dtype).to(device);
        Device = device;
        DType = dtype;
    }

    /// <summary>Re-initialises every parameter from <paramref name="seed"/> (see <see cref="Create"/>).</summary>
    public void InitializeWeights(long seed)
    {
        using var generator = Determinism.CreateGenerator(seed, CPU, "llama-init");
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(1.0);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                using var values = randn(parameter.shape, dtype: ScalarType.Float32, generator: generator) * Config.InitializerRange;
                parameter.copy_(values);
            }
        }
    }

    /// <summary>
    /// Runs the model. See <see cref="LlamaModel.forward"/> for the inputs. With <paramref name="lastPositionOnly"/>
    /// the logits are computed for the last position only, (B, 1, V), which is what decoding needs.
    /// </summary>
    public CausalLmOutput forward(
        Tensor inputIds,
        Tensor? attentionMask = null,
        Tensor? positionIds = null,
        KvCache? cache = null,
        bool lastPositionOnly = false)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask, positionIds, cache);              // (B, T, C)
        var logits = Project(lastPositionOnly ? hidden.narrow(1, hidden.shape[1] - 1, 1) : hidden);
        return new CausalLmOutput(logits.MoveToOuterDisposeScope(), hidden.MoveToOuterDisposeScope());
    }

    /// <summary>Output projection of hidden states (…, C) to fp32 logits (…, V).</summary>
    public Tensor Project(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var logits = lm_head is not null
            ? lm_head.forward(hidden)
            : nn.functional.linear(hidden, model.EmbedTokens.weight!);
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Fp32 logits (B, T, V) for a padded batch.</summary>
    public Tensor Logits(Tensor inputIds, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask);
        return Project(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>Final normed hidden states (B, T, C) for a padded batch.</summary>
    public Tensor HiddenStates(Tensor inputIds, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Log-probabilities (B, T-1), fp32, of each token <c>inputIds[:, t+1]</c> given the tokens before it, for a padded
    /// batch. Positions whose target is padding get 0.
    /// </summary>
    public Tensor TokenLogProbs(Tensor inputIds, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask);
        var t = inputIds.shape[1];
        var logits = Project(hidden.narrow(1, 0, t - 1));                                   // (B, T-1, V)
        var targets = inputIds.narrow(1, 1, t - 1);
        var logProbs = GatherLogProbs(logits, targets);
        if (attentionMask is not null)
        {
            logProbs = logProbs * attentionMask.narrow(1, 1, t - 1).to(ScalarType.Float32);
        }

        return logProbs.MoveToOuterDisposeScope();
    }

    /// <summary>log_softmax(<paramref name="logits"/>) (…, V) in fp32, read at <paramref name="targets"/> (…).</summary>
    public static Tensor GatherLogProbs(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var logProbs = logits.to(ScalarType.Float32).log_softmax(-1);
        return logProbs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>A KV cache for this model, on its device and in its dtype.</summary>
    /// <param name="batchSize">Rows of every forward through the cache.</param>
    /// <param name="maxLength">Positions it can hold (prompt and new tokens).</param>
    /// <param name="fusedWeights">Run no-grad forwards through the cache on fused weights (<see cref="KvCache.FusedWeights"/>). Default true.</param>
    /// <returns>The cache; the caller disposes it.</returns>
    public KvCache CreateCache(long batchSize, long maxLength, bool fusedWeights = true) =>
        new(Config, batchSize, maxLength, DType, Device, fusedWeights);
}
