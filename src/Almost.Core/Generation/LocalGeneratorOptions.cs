namespace Almost.Generation;

/// <summary>Engine settings of <see cref="LocalGenerator"/> (how it batches, not what it samples).</summary>
public sealed record LocalGeneratorOptions
{
    /// <summary>Rows (prompt × sample) decoded together. Prompts are sorted by length and cut into batches of this size. Default 16.</summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>
    /// Decoding steps between host checks for finished rows and stop strings. Each check copies only the tokens of
    /// those steps to the host; larger values mean fewer syncs but more wasted steps after every row is done. Default 8.
    /// </summary>
    public int StopCheckInterval { get; init; } = 8;

    /// <summary>
    /// Decode on fused projection weights (<see cref="Models.Llama.KvCache.FusedWeights"/>): about half the LibTorch calls
    /// per step, for a second copy of the attention and MLP weights while a batch decodes. Default true; turn it off
    /// when that copy does not fit in memory.
    /// </summary>
    public bool FusedDecoding { get; init; } = true;

    /// <summary>
    /// Prefill a prompt prefix that every row of a batch shares once, not once per row: when the rows' token ids
    /// agree on their first <see cref="MinSharedPrefixTokens"/> or more tokens (few-shot demonstrations, a system
    /// preamble, the samples of one prompt), those positions run as one row and their keys and values are copied to
    /// every row's cache; each row then prefills only its own rest (left-padded after the prefix). The same math as
    /// prefilling every row in full (greedy tokens are the same; tested), for a fraction of the prefill work. Default true.
    /// </summary>
    public bool ShareCommonPrefix { get; init; } = true;

    /// <summary>The shortest common prefix, in tokens, worth sharing (<see cref="ShareCommonPrefix"/>). Default 16.</summary>
    public int MinSharedPrefixTokens { get; init; } = 16;

    /// <summary>
    /// Drop finished rows from a batch while it decodes: at every <see cref="StopCheckInterval"/>-th step, once at least
    /// a quarter of the rows still on the device have finished (EOS, a stop string), later steps run on the others only
    /// (their KV cache rows are copied into a smaller cache). A batch otherwise runs every row until its longest one is
    /// done. Greedy tokens are unchanged (tested; a batch of another size can differ only in the last bits of its
    /// logits); sampled output stays deterministic for a seed and batch size but differs from
    /// decoding without it (fewer rows draw from the batch's random stream). Default true.
    /// </summary>
    public bool CompactFinishedRows { get; init; } = true;

    /// <summary>Prepend the tokenizer's BOS token to every prompt (when it has one). Default true, as LLaMA models expect.</summary>
    public bool AddBos { get; init; } = true;
}
