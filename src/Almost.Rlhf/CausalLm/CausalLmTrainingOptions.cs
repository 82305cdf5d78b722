using Almost.Models.Lora;
using Almost.Rlhf.Training;

namespace Almost.Rlhf.CausalLm;

/// <summary>Options of <see cref="CausalLmTrainer"/> (pretraining and SFT): the shared <see cref="TrainingOptions"/> plus the below.</summary>
public sealed record CausalLmTrainingOptions : TrainingOptions
{
    /// <summary>
    /// Id used to right-pad shorter examples in a batch. Padding is masked out of attention and loss, so any valid id
    /// works; default null = the model's <c>pad_token_id</c>, else its first <c>eos_token_id</c>, else 0.
    /// </summary>
    public int? PadTokenId { get; init; }

    /// <summary>
    /// Train a LoRA adapter instead of every weight (<see cref="LoraAdapter"/>; PEFT's <c>peft_config</c> in TRL): the
    /// trainer attaches it when training starts (A seeded with <see cref="TrainingOptions.Seed"/>), checkpoints hold
    /// the adapter, and the end merges it into the model, which is saved as a plain model in
    /// <see cref="TrainingOptions.OutputDir"/> with the adapter itself in its <c>adapter</c> subfolder. Default null:
    /// full fine-tuning.
    /// </summary>
    public LoraOptions? Lora { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        Require(PadTokenId is null or >= 0, nameof(PadTokenId), "must be >= 0 when set");
        Lora?.Validate();
    }
}
