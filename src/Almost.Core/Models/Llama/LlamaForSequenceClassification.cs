using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Almost.Checkpoints;
using Almost.Devices;
using Almost.IO;
using Almost.Scoring;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>
/// A LLaMA-family scalar-head model: the <see cref="LlamaModel"/> trunk plus <c>score</c>, a Linear(hidden, 1) without
/// bias, read at the last real token. This is Hugging Face's <c>LlamaForSequenceClassification</c> with
/// <c>num_labels = 1</c> (Qwen2 and Mistral likewise), the layout TRL's reward trainer, OpenRLHF and vLLM use for reward
/// models: state-dict keys <c>model.*</c> and <c>score.weight</c>, and <c>config.json</c> with
/// <c>architectures: ["LlamaForSequenceClassification"]</c>, <c>num_labels: 1</c>, <c>pad_token_id</c> and, once
/// known, the reward <c>mean</c> / <c>std</c>.
/// </summary>
/// <remarks>
/// <para>
/// The pooled token is the last position whose attention mask is 1, so left and right padding give the same score.
/// Transformers pools at the last position whose token is not <c>pad_token_id</c> (older versions: the first pad
/// position − 1); the two agree as long as the last real token is not the pad id, which
/// <see cref="RewardSequenceEncoder"/> guarantees for the texts it encodes.
/// </para>
/// <para>
/// Build with <see cref="FromCausalLm(string, ModelOptions?, int?)"/> (a causal-LM checkpoint, the usual start),
/// <see cref="FromPretrained"/> (a saved reward model) or <see cref="Create"/> (random weights). The per-position
/// scores <see cref="TokenScores"/> serve a value model (PPO's critic is initialised from the reward model).
/// </para>
/// </remarks>
public sealed class LlamaForSequenceClassification : nn.Module
{
    /// <summary>
    /// The standard deviation of the fresh head's weights is <c>1 / (hidden_size + 1)</c> (as OpenRLHF initialises its
    /// value heads): initial rewards are near 0 (about ±1/√hidden for unit-RMS hidden states), so the first
    /// Bradley–Terry steps see σ ≈ 0.5 and informative gradients, and the weights are not zero, so the trunk gets a
    /// gradient from the first step (with a zero head it gets none until the head has moved).
    /// </summary>
    private static double HeadInitStd(int hiddenSize) => 1.0 / (hiddenSize + 1);

#pragma warning disable IDE1006 // Field names = HF parameter names, so state-dict keys match checkpoints.
    private readonly LlamaModel model;
    private readonly Linear score;
#pragma warning restore IDE1006

    private LlamaForSequenceClassification(LlamaConfig config) : base(nameof(LlamaForSequenceClassification))
    {
        config.Validate();
        Config = config;
        model = new LlamaModel(config);
        score = nn.Linear(config.HiddenSize, 1, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The architecture (of the trunk; the head is always hidden → 1).</summary>
    public LlamaConfig Config { get; }

    /// <summary>The trunk (<c>model.*</c>).</summary>
    public LlamaModel Model => model;

    /// <summary>The device the weights are on.</summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>The weights' dtype.</summary>
    public ScalarType DType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// The pad id: <see cref="LlamaConfig.PadTokenId"/>, else the first EOS id, else 0 (<see cref="LlamaConfig.ResolvePadTokenId"/>).
    /// It is written as <c>pad_token_id</c> on save, because transformers finds the pooled token with it.
    /// </summary>
    public int PadTokenId => Config.ResolvePadTokenId();

    /// <summary>
    /// Mean / std of the raw rewards over the training set, for normalisation; null until a trainer sets it. Saved in
    /// <c>config.json</c> as <c>mean</c> and <c>std</c> and read back by <see cref="FromPretrained"/>.
    /// </summary>
    public RewardNormalization? Normalization { get; set; }

    /// <summary>
    /// Builds a model with random weights: the trunk exactly as <see cref="LlamaForCausalLM.Create"/> would with the same
    /// seed, the head ~ N(0, (1 / (hidden + 1))²).
    /// </summary>
    /// <param name="config">The architecture.</param>
    /// <param name="options">Device, dtype and seed; null for the defaults.</param>
    /// <returns>The model.</returns>
    public static LlamaForSequenceClassification Create(LlamaConfig config, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new ModelOptions();
        using var lm = LlamaForCausalLM.Create(config, options);
        return FromCausalLm(lm, options.Seed);
    }

    /// <summary>
    /// Initialises a reward model from a causal-LM checkpoint folder (written here or by Python transformers): the
    /// trunk <c>model.*</c> is loaded, <c>lm_head.weight</c> (and rotary <c>inv_freq</c> buffers) are ignored, and the
    /// head gets fresh weights ~ N(0, (1 / (hidden + 1))²) from <see cref="ModelOptions.Seed"/>. A stored
    /// <c>score.weight</c> of shape (1, hidden), as in a saved reward model, is loaded instead of the fresh head.
    /// </summary>
    /// <param name="folder">The checkpoint folder (<c>config.json</c> + safetensors).</param>
    /// <param name="options">Device, dtype, head seed; null for the defaults.</param>
    /// <param name="padTokenId">
    /// The pad id to record in the config when it has none (e.g. the tokenizer's <see cref="Tokenization.AlmostTokenizer.PadTokenId"/>);
    /// null falls back to the config's EOS id, then 0. A config that has a pad id keeps it.
    /// </param>
    /// <returns>The model.</returns>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">config.json is malformed.</exception>
    /// <exception cref="CheckpointException">The weights do not match the config.</exception>
    public static LlamaForSequenceClassification FromCausalLm(string folder, ModelOptions? options = null, int? padTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new ModelOptions();
        var loaded = LlamaConfig.Load(folder);
        var config = loaded with { PadTokenId = loaded.PadTokenId ?? loaded.ResolvePadTokenId(padTokenId) };
        var device = ComputeDevice.Resolve(options.Device);
        var rm = Build(config, device, ComputeDevice.ResolveDType(device, options.DType));
        try
        {
            rm.InitializeHead(options.Seed);
            var load = LlamaForCausalLM.CausalLmLoadOptions(config, name => name == "lm_head.weight") with
            {
                IgnoreMissing = new HashSet<string>(StringComparer.Ordinal) { "score.weight" },
            };
            HfCheckpoint.LoadInto(rm, folder, load);
        }
        catch
        {
            rm.Dispose();
            throw;
        }

        return rm;
    }

    /// <summary>
    /// Initialises a reward model from a causal LM in memory: the trunk's weights are copied (the language model is
    /// not changed and stays usable), the head gets fresh weights ~ N(0, (1 / (hidden + 1))²) from <paramref name="seed"/>.
    /// The new model is on the LM's device in its dtype.
    /// </summary>
    /// <param name="lm">The causal LM.</param>
    /// <param name="seed">Seed of the head's initialisation.</param>
    /// <param name="padTokenId">The pad id to record when the LM's config has none; see <see cref="FromCausalLm(string, ModelOptions?, int?)"/>.</param>
    /// <returns>The model.</returns>
    public static LlamaForSequenceClassification FromCausalLm(LlamaForCausalLM lm, long seed = 0, int? padTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(lm);
        var config = lm.Config with { PadTokenId = lm.Config.PadTokenId ?? lm.Config.ResolvePadTokenId(padTokenId) };
        var rm = Build(config, lm.Device, lm.DType);
        try
        {
            rm.InitializeHead(seed);
            HfCheckpoint.LoadStateDictInto(rm.model, lm.Model.state_dict(), "causal LM trunk");
        }
        catch
        {
            rm.Dispose();
            throw;
        }

        return rm;
    }

    /// <summary>
    /// Loads a saved reward model: a Hugging Face <c>*ForSequenceClassification</c> folder with one label (written by
    /// <see cref="SavePretrained"/>, TRL, OpenRLHF or transformers), with its <c>mean</c> / <c>std</c> when present.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="options">Device and dtype; null for the defaults.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">config.json is malformed, has more than one label, or a bad mean / std.</exception>
    /// <exception cref="CheckpointException">The weights do not match (a causal LM has no <c>score.weight</c>: use <see cref="FromCausalLm(string, ModelOptions?, int?)"/>).</exception>
    public static LlamaForSequenceClassification FromPretrained(string folder, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new ModelOptions();
        var config = LlamaConfig.Load(folder);
        var normalization = ReadHeadFields(folder);
        var device = ComputeDevice.Resolve(options.Device);
        var rm = Build(config, device, ComputeDevice.ResolveDType(device, options.DType));
        try
        {
            rm.LoadWeights(folder);
        }
        catch (CheckpointException e) when (e.MissingKeys.Contains("score.weight"))
        {
            rm.Dispose();
            throw new CheckpointException(
                $"{e.Message} '{folder}' looks like a causal LM, not a reward model: initialise one from it with LlamaForSequenceClassification.FromCausalLm.",
                e.FilePath, e)
            {
                MissingKeys = e.MissingKeys,
                UnexpectedKeys = e.UnexpectedKeys,
                ShapeMismatchKeys = e.ShapeMismatchKeys,
            };
        }
        catch
        {
            rm.Dispose();
            throw;
        }

        rm.Normalization = normalization;
        return rm;
    }

    /// <summary>
    /// Saves the model in the Hugging Face reward-model layout: <c>model.*</c> and <c>score.weight</c> tensors
    /// (sharded above <paramref name="maxShardBytes"/>) and a <c>config.json</c> with the sequence-classification
    /// architecture, <c>num_labels: 1</c>, <c>pad_token_id</c> and <see cref="Normalization"/> as <c>mean</c> / <c>std</c>.
    /// Every file is written atomically. The folder opens with <c>AutoModelForSequenceClassification.from_pretrained</c>.
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
        LlamaConfig.Stage(transaction, ConfigJson(ComputeDevice.DTypeName(saved)));
        transaction.Commit();
    }

    /// <summary>
    /// Rewrites only <c>config.json</c> (atomically), e.g. after <see cref="Normalization"/> was set on a model whose
    /// weights are already saved in <paramref name="folder"/>.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="savedDtype">The dtype the weights there are stored in; null for the model's.</param>
    public void SaveConfig(string folder, ScalarType? savedDtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(
            Path.Combine(folder, "config.json"),
            ConfigJson(ComputeDevice.DTypeName(savedDtype ?? DType)).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Loads the weights of a saved reward model (<c>model.*</c> and <c>score.weight</c>; shapes must match) into this
    /// model, converting dtypes; rotary <c>inv_freq</c> buffers and a tied copy of <c>lm_head.weight</c> are ignored.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <exception cref="CheckpointException">Missing, unexpected or wrong-shape tensors, or a config.json next to them that is unreadable or describes another architecture.</exception>
    public void LoadWeights(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Config.CheckSavedConfig(folder);
        HfCheckpoint.LoadInto(this, folder, LlamaForCausalLM.CausalLmLoadOptions(Config));
    }

    /// <summary>The <c>config.json</c> this model saves: the trunk's config with the sequence-classification fields.</summary>
    /// <param name="savedDtype">The dtype of the saved weights, recorded as <c>torch_dtype</c>.</param>
    /// <returns>The JSON object.</returns>
    public JsonObject ConfigJson(string? savedDtype = null)
    {
        var json = Config.ToJson(savedDtype);
        json["architectures"] = new JsonArray(Config.ModelType switch
        {
            "qwen2" => "Qwen2ForSequenceClassification",
            "mistral" => "MistralForSequenceClassification",
            _ => "LlamaForSequenceClassification",
        });
        json["num_labels"] = 1;
        json["id2label"] = new JsonObject { ["0"] = "LABEL_0" };
        json["label2id"] = new JsonObject { ["LABEL_0"] = 0 };
        json["pad_token_id"] = PadTokenId;
        if (Normalization is { } stats)
        {
            json["mean"] = stats.Mean;
            json["std"] = stats.Std;
        }

        return json;
    }

    /// <summary>
    /// Per-position scores (B, T), fp32: the head applied to every final hidden state. Position t scores the prefix
    /// ending at t (causal attention), so a value model reads one value per token. Padding positions hold numbers that
    /// mean nothing.
    /// </summary>
    /// <param name="inputIds">Token ids (B, T).</param>
    /// <param name="attentionMask">(B, T), 1 for real tokens and 0 for padding; null for none.</param>
    /// <returns>The scores.</returns>
    public Tensor TokenScores(Tensor inputIds, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask);                                  // (B, T, C)
        return score.forward(hidden).squeeze(-1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The reward of each sequence (B), fp32: the head read at the last real token (<see cref="LastRealTokenIndex"/>).
    /// Only the pooled hidden states go through the head.
    /// </summary>
    /// <param name="inputIds">Token ids (B, T), left- or right-padded.</param>
    /// <param name="attentionMask">(B, T), 1 for real tokens and 0 for padding; null when no row is padded.</param>
    /// <returns>The rewards.</returns>
    public Tensor forward(Tensor inputIds, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, attentionMask);                                  // (B, T, C)
        var last = LastRealTokenIndex(inputIds, attentionMask);                               // (B)
        var index = last.view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);                      // (B, 1, C)
        var pooled = hidden.gather(1, index).squeeze(1);                                      // (B, C)
        return score.forward(pooled).squeeze(-1).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The position of each row's last real token (B), int64: the last position whose mask is 1 (the last position when
    /// there is no mask). This is the token transformers pools at when the last real token is not the pad id.
    /// </summary>
    /// <param name="inputIds">Token ids (B, T).</param>
    /// <param name="attentionMask">(B, T) or null.</param>
    /// <returns>The positions.</returns>
    public static Tensor LastRealTokenIndex(Tensor inputIds, Tensor? attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        long b = inputIds.shape[0], t = inputIds.shape[1];
        using var scope = NewDisposeScope();
        if (attentionMask is null)
        {
            return full(b, t - 1, dtype: ScalarType.Int64, device: inputIds.device).MoveToOuterDisposeScope();
        }

        // argmax of position × mask: the largest position with mask 1 (0 for an all-padding row).
        var positions = arange(t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        return (positions * attentionMask.to(ScalarType.Int64)).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>Re-initialises the head from <paramref name="seed"/>: N(0, (1 / (hidden + 1))²), the trunk untouched.</summary>
    /// <param name="seed">The seed; same seed, same head.</param>
    public void InitializeHead(long seed)
    {
        using var generator = Determinism.CreateGenerator(seed, CPU, "score-head-init");
        using var noGrad = no_grad();
        var weight = score.weight!;
        using var values = randn(weight.shape, dtype: ScalarType.Float32, generator: generator) * HeadInitStd(Config.HiddenSize);
        weight.copy_(values);
    }

    private static LlamaForSequenceClassification Build(LlamaConfig config, Device device, ScalarType dtype)
    {
        TorchNative.EnsureLoaded();
        var rm = new LlamaForSequenceClassification(config);
        rm.to(dtype).to(device);
        rm.Device = device;
        rm.DType = dtype;
        return rm;
    }

    /// <summary>Checks the label count and reads <c>mean</c> / <c>std</c> of a reward model's config.json.</summary>
    private static RewardNormalization? ReadHeadFields(string folder)
    {
        var file = Directory.Exists(folder) ? Path.Combine(folder, "config.json") : folder;
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(file))!; // LlamaConfig.Load has checked it is an object
        var labels = json["num_labels"] is JsonNode n ? Number(n, "num_labels", file)
            : json["id2label"] is JsonObject map ? map.Count
            : (double?)null;
        if (labels is { } count && count != 1)
        {
            throw new InvalidDataException(
                $"{file}: the model has {count.ToString(CultureInfo.InvariantCulture)} labels (num_labels / id2label); a reward model has exactly 1 (a scalar score).");
        }

        var mean = json["mean"] is JsonNode m ? Number(m, "mean", file) : (double?)null;
        var std = json["std"] is JsonNode s ? Number(s, "std", file) : (double?)null;
        if (mean is null && std is null)
        {
            return null;
        }

        if (mean is null || std is null)
        {
            throw new InvalidDataException($"{file}: has '{(mean is null ? "std" : "mean")}' without '{(mean is null ? "mean" : "std")}'; expected both or neither.");
        }

        var stats = new RewardNormalization(mean.Value, std.Value);
        try
        {
            stats.Validate(file);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        return stats;
    }

    private static double Number(JsonNode node, string field, string file) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d)
            ? d
            : throw new InvalidDataException($"{file}: field '{field}' is {node.ToJsonString()}; expected a number.");
}
