using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Almost.IO;

namespace Almost.Models.Llama;

/// <summary>
/// The architecture of a LLaMA-family decoder, read from and written to a Hugging Face <c>config.json</c>
/// (<c>model_type</c> <c>llama</c>, <c>mistral</c> or <c>qwen2</c>). Property names follow the JSON keys.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>The model types this class reads.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["llama", "mistral", "qwen2"];

    /// <summary><c>model_type</c>: <c>llama</c>, <c>mistral</c> or <c>qwen2</c>. Decides attention-bias defaults and the architecture name.</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>hidden_size</c>: width of the residual stream.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>: width of the SwiGLU MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c>: query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c>: key/value heads (grouped-query attention). Defaults to the query heads.</summary>
    public int? NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c>. Defaults to hidden_size / num_attention_heads.</summary>
    public int? HeadDim { get; init; }

    /// <summary><c>rms_norm_eps</c>. Default 1e-6.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>: rotary base. Default 10000.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary><c>rope_scaling</c>; null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary><c>max_position_embeddings</c>: the longest sequence (and KV cache) the model supports. Default 2048.</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary><c>tie_word_embeddings</c>: the output projection reuses the input embedding matrix. Default false.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>
    /// <c>attention_bias</c>: bias on q/k/v/o projections (llama). Qwen2 always has q/k/v bias and no o bias, whatever
    /// this says; mistral has none.
    /// </summary>
    public bool AttentionBias { get; init; }

    /// <summary><c>mlp_bias</c> (llama): bias on the MLP projections. Default false.</summary>
    public bool MlpBias { get; init; }

    /// <summary><c>initializer_range</c>: standard deviation of the normal initialisation. Default 0.02.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary><c>bos_token_id</c>, if any.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>eos_token_id</c>: one or several ids (Llama 3 lists several). Empty when absent.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary><c>pad_token_id</c>, if any.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>
    /// <c>torch_dtype</c>: the dtype the weights were saved in, informational (loading converts to the model's dtype).
    /// </summary>
    public string? TorchDtype { get; init; }

    /// <summary>The effective number of key/value heads.</summary>
    public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>The effective head dimension.</summary>
    public int HeadDimension => HeadDim ?? HiddenSize / NumAttentionHeads;

    /// <summary>Whether q/k/v projections have a bias.</summary>
    public bool QkvBias => ModelType switch { "qwen2" => true, "mistral" => false, _ => AttentionBias };

    /// <summary>Whether the output projection of attention has a bias.</summary>
    public bool OutputBias => ModelType == "llama" && AttentionBias;

    /// <summary>The primary end-of-sequence id (the first of <see cref="EosTokenIds"/>), if any.</summary>
    public int? EosTokenId => EosTokenIds.Count > 0 ? EosTokenIds[0] : null;

    /// <summary>
    /// The id to pad batches with, by the one rule every part of the SDK uses: <paramref name="preferred"/> (an option or
    /// the tokenizer's pad token) when given, else <see cref="PadTokenId"/>, else the first end-of-sequence id, else 0.
    /// Padding is always masked out of attention, loss and scores, so any id in the vocabulary is correct; the rule
    /// only keeps the choice the same everywhere.
    /// </summary>
    /// <param name="preferred">An explicit choice (an option, or the tokenizer's pad id); null to fall back.</param>
    /// <returns>The pad id.</returns>
    public int ResolvePadTokenId(int? preferred = null) => preferred ?? PadTokenId ?? EosTokenId ?? 0;

    /// <summary>Number of parameters of a model with this configuration (tied embeddings counted once).</summary>
    public long ParameterCount
    {
        get
        {
            // Checked: an unvalidated config (sizes up to int.MaxValue) must throw, not wrap around to a small count.
            checked
            {
                long h = HiddenSize, d = HeadDimension, q = NumAttentionHeads, kv = KeyValueHeads, m = IntermediateSize;
                long attention = h * q * d + 2 * h * kv * d + q * d * h
                                 + (QkvBias ? q * d + 2 * kv * d : 0) + (OutputBias ? h : 0);
                long mlp = 3 * h * m + (MlpBias ? 2 * m + h : 0);
                long perLayer = attention + mlp + 2 * h;
                long embeddings = (long)VocabSize * h * (TieWordEmbeddings ? 1 : 2);
                return NumHiddenLayers * perLayer + embeddings + h;
            }
        }
    }

    /// <summary>Largest accepted <c>vocab_size</c> (2^24; the largest released vocabularies are about 2^18).</summary>
    public const int MaxVocabSize = 1 << 24;

    /// <summary>Largest accepted <c>hidden_size</c> (2^17; the largest released decoders use 2^14 to 2^15).</summary>
    public const int MaxHiddenSize = 1 << 17;

    /// <summary>Largest accepted <c>intermediate_size</c> (2^20).</summary>
    public const int MaxIntermediateSize = 1 << 20;

    /// <summary>Largest accepted <c>num_hidden_layers</c> (1024; released decoders have at most a few hundred).</summary>
    public const int MaxHiddenLayers = 1024;

    /// <summary>Largest accepted <c>num_attention_heads</c>, <c>num_key_value_heads</c> and <c>head_dim</c> (4096).</summary>
    public const int MaxHeadsOrHeadDim = 4096;

    /// <summary>Largest accepted <c>max_position_embeddings</c> (2^24).</summary>
    public const int MaxPositionEmbeddingsLimit = 1 << 24;

    /// <summary>Largest accepted total parameter count (10^13), before any comparison with the machine's memory.</summary>
    public const double MaxParameterCount = 1e13;

    /// <summary>
    /// Checks the numbers fit together before anything is allocated; throws <see cref="ArgumentException"/> naming the
    /// field otherwise. Sizes must be positive and at most the <c>Max*</c> constants of this class; hidden_size must be
    /// divisible by num_attention_heads unless head_dim is set; rope_theta, rms_norm_eps and the rope_scaling factors
    /// must be positive and finite; bos/eos/pad token ids must lie in [0, vocab_size).
    /// </summary>
    /// <param name="source">Names the config in messages (usually the config.json path).</param>
    public void Validate(string source = "config")
    {
        void Bounded(int value, string field, int max)
        {
            if (value <= 0 || value > max)
            {
                throw new ArgumentException(
                    $"{source}: field '{field}' must be a positive integer of at most {max.ToString("N0", CultureInfo.InvariantCulture)}, got {value.ToString(CultureInfo.InvariantCulture)}.");
            }
        }

        void PositiveFinite(double value, string field)
        {
            if (!double.IsFinite(value) || value <= 0)
            {
                throw new ArgumentException($"{source}: field '{field}' must be a positive finite number, got {value.ToString("R", CultureInfo.InvariantCulture)}.");
            }
        }

        void TokenId(int? id, string field)
        {
            if (id is { } value && (value < 0 || value >= VocabSize))
            {
                throw new ArgumentException($"{source}: field '{field}' is {value}; expected a token id in [0, {VocabSize}) (vocab_size {VocabSize}).");
            }
        }

        if (!SupportedModelTypes.Contains(ModelType))
        {
            throw new ArgumentException($"{source}: field 'model_type' is '{ModelType}'; expected one of {string.Join(", ", SupportedModelTypes)}.");
        }

        Bounded(VocabSize, "vocab_size", MaxVocabSize);
        Bounded(HiddenSize, "hidden_size", MaxHiddenSize);
        Bounded(IntermediateSize, "intermediate_size", MaxIntermediateSize);
        Bounded(NumHiddenLayers, "num_hidden_layers", MaxHiddenLayers);
        Bounded(NumAttentionHeads, "num_attention_heads", MaxHeadsOrHeadDim);
        Bounded(KeyValueHeads, "num_key_value_heads", MaxHeadsOrHeadDim);
        Bounded(MaxPositionEmbeddings, "max_position_embeddings", MaxPositionEmbeddingsLimit);
        if (HeadDim is null && HiddenSize % NumAttentionHeads != 0)
        {
            throw new ArgumentException($"{source}: hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumAttentionHeads}); set head_dim or change one of them.");
        }

        Bounded(HeadDimension, "head_dim", MaxHeadsOrHeadDim);
        if (NumAttentionHeads % KeyValueHeads != 0)
        {
            throw new ArgumentException($"{source}: num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({KeyValueHeads}).");
        }

        if (HeadDimension % 2 != 0)
        {
            throw new ArgumentException($"{source}: head_dim ({HeadDimension}) must be even for rotary embeddings.");
        }

        PositiveFinite(RopeTheta, "rope_theta");
        PositiveFinite(RmsNormEps, "rms_norm_eps");
        if (!double.IsFinite(InitializerRange) || InitializerRange < 0)
        {
            throw new ArgumentException($"{source}: field 'initializer_range' must be a finite number >= 0, got {InitializerRange.ToString("R", CultureInfo.InvariantCulture)}.");
        }

        if (RopeScaling is { } scaling)
        {
            PositiveFinite(scaling.Factor, "rope_scaling.factor");
            if (scaling.Type == RopeScalingType.Llama3)
            {
                PositiveFinite(scaling.LowFreqFactor, "rope_scaling.low_freq_factor");
                PositiveFinite(scaling.HighFreqFactor, "rope_scaling.high_freq_factor");
                Bounded(scaling.OriginalMaxPositionEmbeddings, "rope_scaling.original_max_position_embeddings", MaxPositionEmbeddingsLimit);
            }
        }

        TokenId(BosTokenId, "bos_token_id");
        TokenId(PadTokenId, "pad_token_id");
        foreach (var eos in EosTokenIds)
        {
            TokenId(eos, "eos_token_id");
        }

        if ((double)ParameterCount > MaxParameterCount)
        {
            throw new ArgumentException(
                $"{source}: the config describes {ParameterCount:N0} parameters, more than the {MaxParameterCount:N0} accepted; check hidden_size, intermediate_size, num_hidden_layers and vocab_size.");
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when a model of this config cannot be built in
    /// <paramref name="availableBytes"/> of memory: the module is created in fp32 on the CPU before it is moved, so it
    /// needs 4 bytes per parameter there whatever its final device and dtype. Call after <see cref="Validate"/>.
    /// </summary>
    /// <param name="availableBytes">The memory available; null reads the machine's (or the container's) limit.</param>
    /// <param name="source">Names the config in messages.</param>
    public void EnsureFitsInMemory(long? availableBytes = null, string source = "config")
    {
        var available = availableBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var needed = (double)ParameterCount * sizeof(float);
        if (needed > available)
        {
            throw new ArgumentException(
                $"{source}: the config describes {ParameterCount:N0} parameters ({needed / 1e9:F1} GB in fp32 while the model is built) " +
                $"but only {available / 1e9:F1} GB of memory is available; check hidden_size ({HiddenSize}), intermediate_size ({IntermediateSize}), " +
                $"num_hidden_layers ({NumHiddenLayers}) and vocab_size ({VocabSize}).");
        }
    }

    /// <summary>
    /// Throws <see cref="Almost.Checkpoints.CheckpointException"/> when the folder's <c>config.json</c> (if any) is unreadable or describes
    /// another architecture than this config: loading weights into a model checks the config saved next to them, so a
    /// truncated or mismatched config.json is found on load (and a trainer resume skips that checkpoint), not later.
    /// </summary>
    /// <param name="folder">A checkpoint folder.</param>
    internal void CheckSavedConfig(string folder)
    {
        var file = Path.Combine(folder, "config.json");
        if (!File.Exists(file))
        {
            return;
        }

        LlamaConfig saved;
        try
        {
            saved = Load(file);
        }
        catch (InvalidDataException e)
        {
            throw new Almost.Checkpoints.CheckpointException($"{e.Message} (the config saved with the weights in '{folder}')", file, e);
        }

        var mismatches = new (string Field, long Saved, long Expected)[]
        {
            ("vocab_size", saved.VocabSize, VocabSize), ("hidden_size", saved.HiddenSize, HiddenSize),
            ("intermediate_size", saved.IntermediateSize, IntermediateSize), ("num_hidden_layers", saved.NumHiddenLayers, NumHiddenLayers),
            ("num_attention_heads", saved.NumAttentionHeads, NumAttentionHeads), ("num_key_value_heads", saved.KeyValueHeads, KeyValueHeads),
            ("head_dim", saved.HeadDimension, HeadDimension),
        }.Where(m => m.Saved != m.Expected).Select(m => $"{m.Field} {m.Saved} (model has {m.Expected})").ToList();
        if (mismatches.Count > 0)
        {
            throw new Almost.Checkpoints.CheckpointException($"{file}: describes another architecture than the model: {string.Join(", ", mismatches)}.", file);
        }
    }

    /// <summary>Reads <c>config.json</c> from a checkpoint folder or a file path.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is malformed, a required field is missing or has the wrong type, or the model type is unknown.</exception>
    public static LlamaConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = path;
        if (Directory.Exists(path))
        {
            FolderTransaction.Recover(Path.GetFullPath(path)); // finish a save that was killed half-way
            file = Path.Combine(path, "config.json");
        }

        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"No config.json at '{file}': a Hugging Face checkpoint folder needs config.json next to model.safetensors.", file);
        }

        JsonNode? root;
        try
        {
            // Duplicate keys are refused: which of two "hidden_size" values transformers would use is not something to guess.
            root = JsonNode.Parse(File.ReadAllBytes(file), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e) when (e.Message.Contains("uplicate", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{file}: duplicate key in JSON (line {e.LineNumber + 1}): {e.Message} Each key may appear once.", e);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: malformed JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidDataException($"{file}: cannot be read ({e.Message}); expected a readable config.json file.", e);
        }

        if (root is not JsonObject obj)
        {
            throw new InvalidDataException($"{file}: expected a JSON object at the top level.");
        }

        return FromJson(obj, file);
    }

    /// <summary>Parses a config from a JSON object; <paramref name="source"/> names it in error messages.</summary>
    public static LlamaConfig FromJson(JsonObject json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        var reader = new FieldReader(json, source);
        var modelType = reader.String("model_type") ?? throw reader.Missing("model_type", "a string: llama, mistral or qwen2");
        if (!SupportedModelTypes.Contains(modelType))
        {
            throw new InvalidDataException(
                $"{source}: field 'model_type' is '{modelType}'; expected one of {string.Join(", ", SupportedModelTypes)} (LLaMA-family decoders).");
        }

        // transformers 5 moved rope_theta and rope_scaling into rope_parameters; accept both. Either must be an object
        // (or null): a string or a number there is a broken config, not "no scaling".
        var ropeParameters = ObjectOrNull(json, "rope_parameters", source);
        var ropeScaling = ObjectOrNull(json, "rope_scaling", source);
        var ropeTheta = reader.Double("rope_theta")
                        ?? (ropeParameters is null ? null : new FieldReader(ropeParameters, source + " rope_parameters").Double("rope_theta"))
                        ?? 10000.0;
        var scaling = ReadRopeScaling(ropeScaling ?? ropeParameters, source);

        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = reader.Int("vocab_size") ?? throw reader.Missing("vocab_size", "a positive integer"),
            HiddenSize = reader.Int("hidden_size") ?? throw reader.Missing("hidden_size", "a positive integer"),
            IntermediateSize = reader.Int("intermediate_size") ?? throw reader.Missing("intermediate_size", "a positive integer"),
            NumHiddenLayers = reader.Int("num_hidden_layers") ?? throw reader.Missing("num_hidden_layers", "a positive integer"),
            NumAttentionHeads = reader.Int("num_attention_heads") ?? throw reader.Missing("num_attention_heads", "a positive integer"),
            NumKeyValueHeads = reader.Int("num_key_value_heads"),
            HeadDim = reader.Int("head_dim"),
            RmsNormEps = reader.Double("rms_norm_eps") ?? 1e-6,
            RopeTheta = ropeTheta,
            RopeScaling = scaling,
            MaxPositionEmbeddings = reader.Int("max_position_embeddings") ?? 2048,
            TieWordEmbeddings = reader.Bool("tie_word_embeddings") ?? false,
            AttentionBias = reader.Bool("attention_bias") ?? false,
            MlpBias = reader.Bool("mlp_bias") ?? false,
            InitializerRange = reader.Double("initializer_range") ?? 0.02,
            BosTokenId = reader.Int("bos_token_id"),
            EosTokenIds = reader.IntOrIntList("eos_token_id"),
            PadTokenId = reader.Int("pad_token_id"),
            TorchDtype = reader.String("torch_dtype") ?? reader.String("dtype"),
        };
        try
        {
            config.Validate(source);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        return config;
    }

    private static JsonObject? ObjectOrNull(JsonObject json, string field, string source) => json[field] switch
    {
        null => null,
        JsonObject block => block,
        var other => throw new InvalidDataException($"{source}: field '{field}' is {other.ToJsonString()}; expected an object such as {{\"rope_type\": \"linear\", \"factor\": 2.0}} or null."),
    };

    private static RopeScaling? ReadRopeScaling(JsonObject? block, string source)
    {
        if (block is null)
        {
            return null;
        }

        var reader = new FieldReader(block, source + " rope_scaling");
        var type = reader.String("rope_type") ?? reader.String("type") ?? "default";
        return type switch
        {
            "default" => null,
            "linear" => new RopeScaling(RopeScalingType.Linear, reader.Double("factor") ?? throw reader.Missing("factor", "a number")),
            "llama3" => new RopeScaling(
                RopeScalingType.Llama3,
                reader.Double("factor") ?? throw reader.Missing("factor", "a number"),
                reader.Double("low_freq_factor") ?? 1.0,
                reader.Double("high_freq_factor") ?? 4.0,
                reader.Int("original_max_position_embeddings") ?? 8192),
            _ => throw new InvalidDataException(
                $"{source}: field 'rope_scaling.rope_type' is '{type}'; supported: default (none), linear, llama3."),
        };
    }

    /// <summary>Writes this config as a Hugging Face <c>config.json</c> (atomically) into <paramref name="folder"/>.</summary>
    /// <param name="folder">Checkpoint folder; created when missing.</param>
    /// <param name="savedDtype">The dtype of the weights saved next to it, recorded as <c>torch_dtype</c>.</param>
    public void Save(string folder, string? savedDtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), ToJsonText(ToJson(savedDtype)));
    }

    /// <summary>The text of a config.json: indented JSON and a final newline, as transformers writes it.</summary>
    internal static string ToJsonText(JsonObject json) => json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    /// <summary>Writes config.json into <paramref name="transaction"/>, to be committed with the weights.</summary>
    internal static void Stage(FolderTransaction transaction, JsonObject json)
    {
        var text = ToJsonText(json);
        transaction.Write("config.json", stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });
    }

    /// <summary>The Hugging Face JSON form of this config (transformers 4.x keys, which 5.x also reads).</summary>
    public JsonObject ToJson(string? savedDtype = null)
    {
        var architecture = ModelType switch
        {
            "qwen2" => "Qwen2ForCausalLM",
            "mistral" => "MistralForCausalLM",
            _ => "LlamaForCausalLM",
        };
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(architecture),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = KeyValueHeads,
            ["head_dim"] = HeadDimension,
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is null ? null : RopeScalingJson(RopeScaling),
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["use_cache"] = true,
            ["torch_dtype"] = savedDtype ?? TorchDtype ?? "float32",
        };
        if (ModelType == "llama")
        {
            json["attention_bias"] = AttentionBias;
            json["attention_dropout"] = 0.0;
            json["mlp_bias"] = MlpBias;
        }
        else if (ModelType == "mistral")
        {
            json["sliding_window"] = null;
        }
        else
        {
            json["use_sliding_window"] = false;
        }

        if (BosTokenId is { } bos)
        {
            json["bos_token_id"] = bos;
        }

        if (EosTokenIds.Count == 1)
        {
            json["eos_token_id"] = EosTokenIds[0];
        }
        else if (EosTokenIds.Count > 1)
        {
            json["eos_token_id"] = new JsonArray(EosTokenIds.Select(id => (JsonNode)id).ToArray());
        }

        if (PadTokenId is { } pad)
        {
            json["pad_token_id"] = pad;
        }

        return json;
    }

    private static JsonObject RopeScalingJson(RopeScaling scaling) => scaling.Type switch
    {
        RopeScalingType.Linear => new JsonObject { ["rope_type"] = "linear", ["type"] = "linear", ["factor"] = scaling.Factor },
        RopeScalingType.Llama3 => new JsonObject
        {
            ["rope_type"] = "llama3",
            ["factor"] = scaling.Factor,
            ["low_freq_factor"] = scaling.LowFreqFactor,
            ["high_freq_factor"] = scaling.HighFreqFactor,
            ["original_max_position_embeddings"] = scaling.OriginalMaxPositionEmbeddings,
        },
        _ => throw new InvalidOperationException($"No JSON form for rope scaling {scaling.Type}."),
    };

    /// <summary>Reads typed fields from a JSON object with errors that name the source, the field and the expected type.</summary>
    private readonly struct FieldReader(JsonObject json, string source)
    {
        public InvalidDataException Missing(string field, string expected) =>
            new($"{source}: missing required field '{field}' (expected {expected}).");

        private InvalidDataException Wrong(string field, string expected, JsonNode node) =>
            new($"{source}: field '{field}' is {node.ToJsonString()}; expected {expected}.");

        public string? String(string field)
        {
            var node = json[field];
            if (node is null)
            {
                return null;
            }

            return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Wrong(field, "a string", node);
        }

        public int? Int(string field)
        {
            var node = json[field];
            if (node is null)
            {
                return null;
            }

            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d)
                && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue)
            {
                return (int)d;
            }

            throw Wrong(field, "an integer", node);
        }

        public double? Double(string field)
        {
            var node = json[field];
            if (node is null)
            {
                return null;
            }

            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d))
            {
                return d;
            }

            // Some configs write numbers as strings ("1e-05"); accept them when they parse.
            if (node is JsonValue s && s.TryGetValue<string>(out var text)
                && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            {
                return parsed;
            }

            throw Wrong(field, "a number", node);
        }

        public bool? Bool(string field)
        {
            var node = json[field];
            if (node is null)
            {
                return null;
            }

            return node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Wrong(field, "true or false", node);
        }

        public IReadOnlyList<int> IntOrIntList(string field)
        {
            var node = json[field];
            if (node is null)
            {
                return [];
            }

            if (node is JsonArray array)
            {
                var ids = new List<int>();
                foreach (var item in array)
                {
                    if (item is JsonValue v && v.TryGetValue<int>(out var id))
                    {
                        ids.Add(id);
                    }
                    else
                    {
                        throw Wrong(field, "an integer or a list of integers", node);
                    }
                }

                return ids;
            }

            return Int(field) is { } single ? [single] : [];
        }
    }
}
