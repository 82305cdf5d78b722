namespace Almost.Scoring;

/// <summary>How <see cref="RewardModel"/> encodes and batches what it scores.</summary>
public sealed record RewardModelOptions
{
    /// <summary>
    /// Sequences scored in one forward pass. Inputs are sorted by length first, so a batch holds similar lengths and
    /// little padding; scores do not depend on the batch. Default 16.
    /// </summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>
    /// The longest sequence, special tokens included; longer ones lose prompt tokens from the left (see
    /// <see cref="RewardSequenceEncoder"/>). Null: the model's <c>max_position_embeddings</c>. Use the value the model was
    /// trained with. Default null.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Prepend the tokenizer's BOS token (when it has one). Default true, as LLaMA models (and the trainer) expect.</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>
    /// Return <c>(r − mean) / std</c> with the model's stored <see cref="RewardNormalization"/> instead of raw scores.
    /// Default false: raw scores, as transformers returns them. PPO usually wants normalised rewards.
    /// </summary>
    public bool Normalize { get; init; }
}
