using System.Globalization;
using Almost.IO;
using Almost.Models.Llama;
using Almost.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Export.Gguf;

/// <summary>
/// Exports a <see cref="LlamaForCausalLM"/> (llama, mistral or qwen2) and its tokenizer to one GGUF file that
/// llama.cpp, Ollama and LM Studio load: architecture metadata, weights under llama.cpp's tensor names, the tokenizer
/// and the chat template. The file is written to a temporary name and renamed.
/// </summary>
/// <remarks>
/// llama and mistral become llama.cpp's <c>llama</c> architecture, whose rotary embedding rotates adjacent pairs
/// (GPT-J style) where Hugging Face rotates the two halves of each head; the exporter therefore reorders the rows of
/// the query and key projections within each head (row <c>k·d/2 + j</c> goes to <c>2j + k</c>), which leaves the
/// attention scores unchanged. qwen2 uses llama.cpp's NEOX rotary embedding, the halves layout, and is not reordered.
/// </remarks>
public static class GgufExporter
{
    /// <summary>
    /// Writes <paramref name="model"/> and <paramref name="tokenizer"/> to <paramref name="path"/> as GGUF.
    /// </summary>
    /// <param name="model">The model; its weights are read, not changed.</param>
    /// <param name="tokenizer">The model's tokenizer (byte-level BPE or SentencePiece), no larger than its vocabulary.</param>
    /// <param name="path">The .gguf file to create or replace; its folder is created when missing.</param>
    /// <param name="options">Tensor type, name, chat template; null for the defaults.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="ArgumentException">The tokenizer does not fit the model or cannot be described to llama.cpp.</exception>
    /// <exception cref="NotSupportedException">The model has MLP biases, which llama.cpp's llama architecture does not load.</exception>
    public static GgufExportResult Export(LlamaForCausalLM model, AlmostTokenizer tokenizer, string path, GgufExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new GgufExportOptions();
        LlamaConfig config = model.Config;
        if (config.MlpBias)
        {
            throw new NotSupportedException("GGUF export: mlp_bias is true; llama.cpp's llama architecture has no MLP biases.");
        }

        string architecture = config.ModelType == "qwen2" ? "qwen2" : "llama";
        var writer = new GgufWriter();
        writer.Add("general.architecture", architecture);
        writer.Add("general.name", options.Name);
        writer.Add("general.file_type", FileType(options.TensorType));
        AddArchitecture(writer, architecture, config, options);
        GgufTokenizerMetadata.Add(writer, tokenizer, config.VocabSize, options);
        var types = AddTensors(writer, model, architecture == "llama", options.TensorType);

        string fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        AtomicFile.Write(fullPath, writer.WriteTo);
        return new GgufExportResult(fullPath, architecture, new FileInfo(fullPath).Length, types);
    }

    /// <summary>
    /// Writes the model as GGUF; see <see cref="Export"/>.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The .gguf file.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>What was written.</returns>
    public static GgufExportResult SaveGguf(this LlamaForCausalLM model, string path, AlmostTokenizer tokenizer, GgufExportOptions? options = null) =>
        Export(model, tokenizer, path, options);

    // llama.cpp's LLAMA_FTYPE: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7.
    private static uint FileType(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 0,
        GgufTensorType.F16 => 1,
        GgufTensorType.Q8_0 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported tensor type."),
    };

    private static void AddArchitecture(GgufWriter writer, string arch, LlamaConfig config, GgufExportOptions options)
    {
        writer.Add($"{arch}.vocab_size", (uint)config.VocabSize);
        writer.Add($"{arch}.context_length", (uint)(options.ContextLength ?? config.MaxPositionEmbeddings));
        writer.Add($"{arch}.embedding_length", (uint)config.HiddenSize);
        writer.Add($"{arch}.block_count", (uint)config.NumHiddenLayers);
        writer.Add($"{arch}.feed_forward_length", (uint)config.IntermediateSize);
        writer.Add($"{arch}.attention.head_count", (uint)config.NumAttentionHeads);
        writer.Add($"{arch}.attention.head_count_kv", (uint)config.KeyValueHeads);
        writer.Add($"{arch}.attention.key_length", (uint)config.HeadDimension);
        writer.Add($"{arch}.attention.value_length", (uint)config.HeadDimension);
        writer.Add($"{arch}.attention.layer_norm_rms_epsilon", (float)config.RmsNormEps);
        writer.Add($"{arch}.rope.dimension_count", (uint)config.HeadDimension);
        writer.Add($"{arch}.rope.freq_base", (float)config.RopeTheta);
        if (config.RopeScaling is { Type: RopeScalingType.Linear } linear)
        {
            writer.Add($"{arch}.rope.scaling.type", "linear");
            writer.Add($"{arch}.rope.scaling.factor", (float)linear.Factor);
        }

        // Llama 3 scaling travels as a rope_freqs tensor of per-frequency divisors (AddTensors), not as keys.
    }

    private static Dictionary<string, GgufTensorType> AddTensors(GgufWriter writer, LlamaForCausalLM model, bool permuteQk, GgufTensorType matrixType)
    {
        LlamaConfig config = model.Config;
        var types = new Dictionary<string, GgufTensorType>(StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = model.state_dict();

        void Add(string ggufName, string hfName, int permuteHeads = 0)
        {
            if (!state.TryGetValue(hfName, out Tensor? source))
            {
                return;
            }

            Tensor t = source.detach().to(ScalarType.Float32).cpu();
            if (permuteHeads > 0)
            {
                t = InterleaveRotaryRows(t, permuteHeads);
            }

            long[] shape = t.shape;
            var type = shape.Length == 2 && GgmlEncoding.Fits(matrixType, shape[^1]) ? matrixType
                : shape.Length == 2 ? GgufTensorType.F16
                : GgufTensorType.F32;
            float[] values = t.contiguous().data<float>().ToArray();
            writer.AddTensor(ggufName, shape, type, GgmlEncoding.Encode(type, values));
            types[ggufName] = type;
        }

        Add("token_embd.weight", "model.embed_tokens.weight");
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string hf = $"model.layers.{i}.", gguf = $"blk.{i}.";
            Add(gguf + "attn_norm.weight", hf + "input_layernorm.weight");
            foreach (var (proj, name, heads) in new[]
                     {
                         ("q_proj", "attn_q", permuteQk ? config.NumAttentionHeads : 0),
                         ("k_proj", "attn_k", permuteQk ? config.KeyValueHeads : 0),
                         ("v_proj", "attn_v", 0),
                         ("o_proj", "attn_output", 0),
                     })
            {
                Add(gguf + name + ".weight", hf + "self_attn." + proj + ".weight", heads);
                Add(gguf + name + ".bias", hf + "self_attn." + proj + ".bias", heads);
            }

            Add(gguf + "ffn_norm.weight", hf + "post_attention_layernorm.weight");
            Add(gguf + "ffn_gate.weight", hf + "mlp.gate_proj.weight");
            Add(gguf + "ffn_up.weight", hf + "mlp.up_proj.weight");
            Add(gguf + "ffn_down.weight", hf + "mlp.down_proj.weight");
        }

        Add("output_norm.weight", "model.norm.weight");
        if (!config.TieWordEmbeddings)
        {
            Add("output.weight", "lm_head.weight");
        }

        if (config.RopeScaling is { Type: RopeScalingType.Llama3 })
        {
            float[] divisors = Llama3FrequencyDivisors(config);
            writer.AddTensor("rope_freqs.weight", [divisors.Length], GgufTensorType.F32, GgmlEncoding.Encode(GgufTensorType.F32, divisors));
            types["rope_freqs.weight"] = GgufTensorType.F32;
        }

        int expected = state.Keys.Count(k => !k.EndsWith("inv_freq", StringComparison.Ordinal)
                                             && !(config.TieWordEmbeddings && k == "lm_head.weight"));
        int written = types.Count - (types.ContainsKey("rope_freqs.weight") ? 1 : 0);
        if (written != expected)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"GGUF export mapped {written} of the model's {expected} tensors; the state-dict names are not the Hugging Face ones."));
        }

        return types;
    }

    /// <summary>
    /// Reorders each head's rows (or bias entries) from Hugging Face's halves layout to llama.cpp's adjacent pairs:
    /// (H·d, …) viewed as (H, 2, d/2, …), the middle axes swapped.
    /// </summary>
    private static Tensor InterleaveRotaryRows(Tensor t, int heads)
    {
        long rows = t.shape[0];
        long half = rows / heads / 2;
        long[] rest = t.shape.Skip(1).ToArray();
        return t.reshape([heads, 2, half, .. rest]).transpose(1, 2).reshape(t.shape);
    }

    /// <summary>llama.cpp applies Llama 3 scaling by dividing each rotary frequency by a factor: unscaled ÷ scaled.</summary>
    private static float[] Llama3FrequencyDivisors(LlamaConfig config)
    {
        using var scaled = new RotaryEmbedding(config);
        using var plain = new RotaryEmbedding(config with { RopeScaling = null });
        return plain.InverseFrequencies.Zip(scaled.InverseFrequencies, (p, s) => (float)(p / s)).ToArray();
    }
}
