using TorchSharp;

namespace Almost.Checkpoints;

/// <summary>How <see cref="HfCheckpoint.Save(TorchSharp.torch.nn.Module, string, CheckpointSaveOptions?)"/> writes a checkpoint.</summary>
public sealed record CheckpointSaveOptions
{
    /// <summary>Hugging Face's default shard limit, "5GB" (5 × 10^9 bytes).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>
    /// Store floating-point tensors in this dtype (e.g. <see cref="torch.ScalarType.BFloat16"/> to halve the files of
    /// an fp32 model); null stores every tensor in its own dtype. Integer and bool tensors are never converted.
    /// Default null.
    /// </summary>
    public torch.ScalarType? DType { get; init; }

    /// <summary>
    /// Largest sum of tensor bytes per file. When the whole state dict fits, one <c>model.safetensors</c> is written;
    /// otherwise shards <c>model-00001-of-0000N.safetensors</c> plus <c>model.safetensors.index.json</c>. A single
    /// tensor larger than this gets a shard of its own. Default <see cref="DefaultMaxShardBytes"/> (5 GB, as HF).
    /// </summary>
    public long MaxShardBytes { get; init; } = DefaultMaxShardBytes;

    /// <summary>
    /// Names not to write, e.g. <c>lm_head.weight</c> when it is tied to <c>model.embed_tokens.weight</c> (HF omits
    /// tied copies; Python <c>safetensors</c> refuses to save tensors that share memory). Default empty.
    /// </summary>
    public IReadOnlySet<string> SkipKeys { get; init; } = new HashSet<string>();

    /// <summary>String metadata for each file's <c>__metadata__</c>; null writes <c>{"format":"pt"}</c>. If given, it
    /// should include <c>format</c> = <c>pt</c> for Python <c>transformers</c>. Default null.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>How <see cref="HfCheckpoint.LoadInto"/> matches checkpoint tensors to a module's parameters and buffers.</summary>
public sealed record CheckpointLoadOptions
{
    /// <summary>
    /// Module keys that may be absent from the checkpoint because they are derived, e.g. <c>lm_head.weight</c> when it
    /// is tied to the embeddings, or persistent rotary buffers the model computes itself. They keep their current
    /// values. Default empty.
    /// </summary>
    public IReadOnlySet<string> IgnoreMissing { get; init; } = new HashSet<string>();

    /// <summary>
    /// Returns true for checkpoint keys the module does not have that may be skipped, e.g.
    /// <c>k =&gt; k.EndsWith(".rotary_emb.inv_freq")</c> for older HF LLaMA checkpoints. Null skips none. Default null.
    /// </summary>
    public Func<string, bool>? IgnoreUnexpected { get; init; }

    /// <summary>
    /// Allow integer or bool tensors in the checkpoint to be converted into floating-point parameters. Off by default:
    /// an integer tensor where a weight is expected means the file is not the model it claims to be (or a quantised
    /// export that needs its own loader), and silently casting it would produce a model of garbage. Default false.
    /// </summary>
    public bool AllowIntegerToFloat { get; init; }
}
