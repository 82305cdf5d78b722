namespace Almost.LlamaCpp;

/// <summary>Engine settings of <see cref="LlamaCppGenerator"/> (how llama.cpp is run, not what it samples).</summary>
public sealed record LlamaCppGeneratorOptions
{
    /// <summary>Rows (prompt × sample) decoded together, each in its own llama.cpp sequence. Default 32.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Longest prompt plus completion, in tokens, of one row; the KV cache holds this many per row. Default 512.</summary>
    public int MaxSequenceLength { get; init; } = 512;

    /// <summary>CPU threads for llama.cpp; null lets llama.cpp choose (all cores). Default null.</summary>
    public int? Threads { get; init; }

    /// <summary>Prepend BOS to every prompt; null follows the GGUF's <c>tokenizer.ggml.add_bos_token</c>. Default null.</summary>
    public bool? AddBos { get; init; }

    /// <summary>Number of model layers to offload to a GPU when the native backend has one; 0 = CPU only. Default 0.</summary>
    public int GpuLayerCount { get; init; }
}
