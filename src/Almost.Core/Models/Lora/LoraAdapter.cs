using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Almost.Checkpoints;
using Almost.Devices;
using Almost.IO;
using Almost.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Models.Lora;

/// <summary>
/// LoRA (Hu et al., 2021) on a LLaMA trunk: every targeted projection of every decoder layer computes
/// <c>x Wᵀ + (alpha / r) · (x Aᵀ) Bᵀ</c>, the base weights frozen, only <c>A</c> and <c>B</c> trained. This module owns
/// the adapter's parameters (its <see cref="nn.Module.parameters"/> are exactly the trainable ones); the model's own
/// state dict keeps its Hugging Face keys, so checkpoints of the model are unchanged by an attached adapter.
/// </summary>
/// <remarks>
/// <para>Lifecycle, as in PEFT: <see cref="Attach(LlamaForCausalLM, LoraOptions, long)"/> (or <see cref="FromPretrained"/>) → train → <see cref="Save"/> the
/// adapter (PEFT's <c>adapter_model.safetensors</c> + <c>adapter_config.json</c>, loadable by <c>PeftModel.from_pretrained</c>)
/// and/or <see cref="Merge"/> it into the base weights (<c>merge_and_unload</c>) to get a plain model again.</para>
/// <para>While attached, generation through a KV cache runs the unfused layer path (the fused weights would hold the base
/// weights only); merge before serving for the fused decode.</para>
/// </remarks>
public sealed class LoraAdapter : nn.Module
{
    /// <summary>File name of the adapter's weights (PEFT's).</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>File name of the adapter's configuration (PEFT's).</summary>
    public const string ConfigFileName = "adapter_config.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly List<Slot> _slots = [];
    private readonly List<(Parameter Parameter, bool RequiresGrad)> _frozen = [];
    private LlamaModel? _model;

    private LoraAdapter(nn.Module root, LlamaModel model, LoraOptions options, long seed) : base(nameof(LoraAdapter))
    {
        Options = options;
        _model = model;
        using var generator = Determinism.CreateGenerator(seed, CPU, "lora");
        var blocks = model.Blocks;
        for (int layer = 0; layer < blocks.Count; layer++)
        {
            var block = blocks[layer];
            foreach (var name in options.TargetModules)
            {
                var linear = block.Projection(name);
                long outFeatures = linear.weight!.shape[0], inFeatures = linear.weight.shape[1];

                // PEFT's initialisation: A ~ kaiming-uniform(a = sqrt 5) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so the
                // adapted model starts equal to the base model. Drawn on the CPU from a seeded generator: same seed, same A.
                var bound = 1.0 / Math.Sqrt(inFeatures);
                using var a0 = rand(new[] { (long)options.Rank, inFeatures }, dtype: ScalarType.Float32, generator: generator).mul_(2 * bound).sub_(bound);
                var a = new Parameter(a0.to(linear.weight.dtype, linear.weight.device), requires_grad: true);
                var b = new Parameter(zeros(new[] { outFeatures, (long)options.Rank }, dtype: linear.weight.dtype, device: linear.weight.device), requires_grad: true);
                var slot = new Slot(layer, block, name, linear, new LoraDelta(a, b, options.Scale));
                var prefix = slot.ModulePath.Replace('.', '_');   // parameter names may not contain dots
                register_parameter($"{prefix}_lora_A", a);
                register_parameter($"{prefix}_lora_B", b);
                _slots.Add(slot);
                block.SetLora(name, slot.Delta);
            }
        }

        // Freeze the base (remembering each parameter's flag, restored on merge or detach).
        foreach (var p in root.parameters())
        {
            _frozen.Add((p, p.requires_grad));
            p.requires_grad = false;
        }

        model.Adapter = this;
    }

    /// <summary>The adapter's options.</summary>
    public LoraOptions Options { get; }

    /// <summary>Whether the adapter is still attached (not yet merged or detached).</summary>
    public bool IsAttached => _model is not null;

    /// <summary>Number of trainable parameters: <c>r · (in + out)</c> per adapted projection.</summary>
    public long TrainableParameterCount => _slots.Sum(s => s.Delta.A.numel() + s.Delta.B.numel());

    /// <summary>
    /// Attaches a new adapter to <paramref name="model"/>'s decoder layers and freezes every other parameter of the
    /// model, <c>lm_head</c> and embeddings included (<c>requires_grad = false</c>). <c>A</c> is drawn from a generator
    /// seeded with <paramref name="seed"/>, <c>B</c> is zero: until trained, the model computes exactly what it did before.
    /// </summary>
    /// <param name="model">The causal LM.</param>
    /// <param name="options">Rank, alpha, target projections.</param>
    /// <param name="seed">Seed of <c>A</c>'s initialisation.</param>
    /// <returns>The adapter; its parameters live on the model's device in its dtype.</returns>
    /// <exception cref="InvalidOperationException">An adapter is already attached to the model.</exception>
    public static LoraAdapter Attach(LlamaForCausalLM model, LoraOptions options, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Attach(model, model.Model, options, seed);
    }

    /// <summary>
    /// Attaches a new adapter to a trunk's decoder layers and freezes the trunk only: a head on top (a reward model's
    /// <c>score</c>, a value head) keeps its <c>requires_grad</c>, as PEFT's <c>modules_to_save</c> would train it.
    /// </summary>
    /// <param name="trunk">The trunk (<see cref="LlamaForCausalLM.Model"/>, or a sequence classifier's).</param>
    /// <param name="options">Rank, alpha, target projections.</param>
    /// <param name="seed">Seed of <c>A</c>'s initialisation.</param>
    /// <returns>The adapter.</returns>
    /// <exception cref="InvalidOperationException">An adapter is already attached to the trunk.</exception>
    public static LoraAdapter Attach(LlamaModel trunk, LoraOptions options, long seed = 0) => Attach(trunk, trunk, options, seed);

    private static LoraAdapter Attach(nn.Module root, LlamaModel trunk, LoraOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(trunk);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (trunk.Adapter is not null)
        {
            throw new InvalidOperationException("The model already has a LoRA adapter attached; merge or detach it first.");
        }

        return new LoraAdapter(root, trunk, options, seed);
    }

    /// <summary>
    /// Attaches the adapter saved in <paramref name="folder"/> (<see cref="Save"/>, or PEFT's <c>save_pretrained</c>
    /// of a LoRA adapter without bias or DoRA) to <paramref name="model"/>, frozen as by <see cref="Attach(LlamaForCausalLM, LoraOptions, long)"/>.
    /// </summary>
    /// <param name="folder">A folder with <see cref="ConfigFileName"/> and <see cref="WeightsFileName"/>.</param>
    /// <param name="model">The model the adapter was trained on.</param>
    /// <returns>The attached adapter, with the saved weights.</returns>
    /// <exception cref="CheckpointException">A file is missing, a field unsupported, or a tensor missing or misshapen; the message names it.</exception>
    public static LoraAdapter FromPretrained(string folder, LlamaForCausalLM model)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(model);
        var adapter = Attach(model, ReadOptions(folder));
        try
        {
            adapter.LoadWeights(folder);
            return adapter;
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    /// <summary>Reads the options of the adapter saved in <paramref name="folder"/>.</summary>
    /// <param name="folder">A folder with <see cref="ConfigFileName"/>.</param>
    /// <returns>Rank, alpha and target projections.</returns>
    /// <exception cref="CheckpointException">The file is missing or malformed, or asks for something this adapter does not do.</exception>
    public static LoraOptions ReadOptions(string folder)
    {
        var path = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(path))
        {
            throw new CheckpointException($"{path}: LoRA adapter config not found.");
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not valid JSON ({e.Message}).", path, e);
        }

        string? peftType = json["peft_type"]?.GetValue<string>();
        if (peftType is not null && peftType != "LORA")
        {
            throw new CheckpointException($"{path}: field 'peft_type' is '{peftType}'; expected 'LORA'.");
        }

        var rank = json["r"]?.GetValue<int>() ?? throw new CheckpointException($"{path}: missing field 'r' (the rank).");
        var alpha = json["lora_alpha"]?.GetValue<double>() ?? throw new CheckpointException($"{path}: missing field 'lora_alpha'.");
        var targets = json["target_modules"] switch
        {
            JsonArray array => array.Select(t => t!.GetValue<string>()).ToList(),
            JsonValue value when value.GetValue<string>() == "all-linear" => [.. LoraOptions.AllLinear],
            _ => throw new CheckpointException($"{path}: field 'target_modules' must be a list of projection names or \"all-linear\"."),
        };
        foreach (var field in new[] { "use_dora", "use_rslora", "fan_in_fan_out" })
        {
            if (json[field] is JsonValue flag && flag.GetValue<bool>())
            {
                throw new CheckpointException($"{path}: field '{field}' is true; this adapter supports only plain LoRA.");
            }
        }

        if (json["bias"] is JsonValue bias && bias.GetValue<string>() != "none")
        {
            throw new CheckpointException($"{path}: field 'bias' is '{bias.GetValue<string>()}'; expected 'none'.");
        }

        var options = new LoraOptions { Rank = rank, Alpha = alpha, TargetModules = targets };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{path}: {e.Message}", path, e);
        }

        return options;
    }

    /// <summary>
    /// Writes the adapter into <paramref name="folder"/> in PEFT's layout: <see cref="WeightsFileName"/> with keys
    /// <c>base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight</c> (each file written to a temporary name
    /// and renamed) and <see cref="ConfigFileName"/>.
    /// </summary>
    /// <param name="folder">The folder (created if missing).</param>
    public void Save(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        EnsureAttached();
        Directory.CreateDirectory(folder);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var slot in _slots)
        {
            tensors.Add(new(PeftKey(slot, "lora_A"), slot.Delta.A));
            tensors.Add(new(PeftKey(slot, "lora_B"), slot.Delta.B));
        }

        SafetensorsFile.Save(Path.Combine(folder, WeightsFileName), tensors);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["r"] = Options.Rank,
            ["lora_alpha"] = Options.Alpha,
            ["lora_dropout"] = 0.0,
            ["target_modules"] = new JsonArray(Options.TargetModules.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["use_rslora"] = false,
            ["use_dora"] = false,
            ["inference_mode"] = true,
            ["base_model_name_or_path"] = null,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFileName), config.ToJsonString(Indented) + "\n");
    }

    /// <summary>Loads <c>A</c> and <c>B</c> of every adapted projection from the adapter saved in <paramref name="folder"/>.</summary>
    /// <param name="folder">A folder written by <see cref="Save"/> (or PEFT) for an adapter with these options.</param>
    /// <exception cref="CheckpointException">The file is missing, or a tensor is missing or has the wrong shape; the message names the key.</exception>
    public void LoadWeights(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        EnsureAttached();
        var path = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(path))
        {
            throw new CheckpointException($"{path}: LoRA adapter weights not found.");
        }

        var tensors = SafetensorsFile.Load(path);
        try
        {
            using var noGrad = no_grad();
            foreach (var slot in _slots)
            {
                foreach (var (part, target) in new[] { ("lora_A", slot.Delta.A), ("lora_B", slot.Delta.B) })
                {
                    var key = PeftKey(slot, part);
                    if (!tensors.TryGetValue(key, out var saved) && !tensors.TryGetValue(key.Replace($".{part}.weight", $".{part}.default.weight"), out saved))
                    {
                        throw new CheckpointException($"{path}: missing tensor '{key}'.");
                    }

                    if (!saved.shape.SequenceEqual(target.shape))
                    {
                        throw new CheckpointException(
                            $"{path}: tensor '{key}' has shape [{string.Join(", ", saved.shape)}]; expected [{string.Join(", ", target.shape)}].");
                    }

                    target.copy_(saved);
                }
            }
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Adds each update into its base weight (<c>W += (alpha / r) · B A</c>), detaches the adapter and restores the base
    /// parameters' <c>requires_grad</c>: the model is a plain model again (PEFT's <c>merge_and_unload</c>), saved with
    /// the usual keys and decoded on fused weights.
    /// </summary>
    public void Merge()
    {
        EnsureAttached();
        using (no_grad())
        {
            foreach (var slot in _slots)
            {
                using var dense = slot.Delta.Dense();
                slot.Linear.weight!.add_(dense);
            }
        }

        Detach();
    }

    /// <summary>Removes the adapter without merging it: the model computes with its base weights again, unfrozen as before.</summary>
    public void Detach()
    {
        if (_model is null)
        {
            return;
        }

        foreach (var slot in _slots)
        {
            slot.Block.SetLora(slot.Name, null);
        }

        foreach (var (p, flag) in _frozen)
        {
            p.requires_grad = flag;
        }

        _frozen.Clear();
        _model.Adapter = null;
        _model = null;
    }

    /// <summary>Sets the adapter and the model it is attached to into training or evaluation mode together.</summary>
    /// <param name="train">True for training mode.</param>
    public override void train(bool train = true)
    {
        base.train(train);
        _model?.train(train);
    }

    /// <inheritdoc />
    public override void eval() => train(false);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Detach();
        }

        base.Dispose(disposing);
    }

    private static string PeftKey(Slot slot, string part) => $"base_model.model.model.{slot.ModulePath}.{part}.weight";

    private void EnsureAttached()
    {
        if (_model is null)
        {
            throw new InvalidOperationException("The LoRA adapter was merged or detached; it no longer adapts a model.");
        }
    }

    private sealed record Slot(int Layer, LlamaDecoderLayer Block, string Name, Linear Linear, LoraDelta Delta)
    {
        /// <summary>The projection's module path in the trunk: <c>layers.0.self_attn.q_proj</c>.</summary>
        public string ModulePath { get; } = string.Create(CultureInfo.InvariantCulture, $"layers.{Layer}.{LlamaDecoderLayer.PathOf(Name)}");
    }
}
