using Almost.Models.Lora;
using Almost.Rlhf.Training;

namespace Almost.Rlhf.Sft;

/// <summary>Options of <see cref="SftTrainer"/>: the shared <see cref="TrainingOptions"/> plus the below (TRL's <c>SFTConfig</c> subset).</summary>
public sealed record SftTrainingOptions : TrainingOptions
{
    /// <summary>
    /// Longest example in tokens; longer ones are cut at the end (TRL truncates on the right), and an example left
    /// with no trained token is dropped. Default null: the model's <c>max_position_embeddings</c>.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// Concatenate examples (each ending with EOS) into blocks of exactly <see cref="MaxLength"/> tokens, carrying
    /// their loss masks, instead of padding each one. Faster for many short dialogues; as in TRL's default packing,
    /// attention crosses example boundaries within a block. Default false.
    /// </summary>
    public bool Packing { get; init; }

    /// <summary>Id used to pad batches; null = the model's pad rule (<c>LlamaConfig.ResolvePadTokenId</c>).</summary>
    public int? PadTokenId { get; init; }

    /// <summary>
    /// Train a LoRA adapter instead of every weight (as <see cref="CausalLm.CausalLmTrainingOptions.Lora"/>: the output
    /// folder holds the merged model, its <c>adapter</c> subfolder the adapter in PEFT's layout). Default null: full
    /// fine-tuning.
    /// </summary>
    public LoraOptions? Lora { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Lora?.Validate();
        Require(MaxLength is null or >= 2, nameof(MaxLength), "must be >= 2 when set");
        Require(PadTokenId is null or >= 0, nameof(PadTokenId), "must be >= 0 when set");
    }
}
