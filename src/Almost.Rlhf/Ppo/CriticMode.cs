namespace Almost.Rlhf.Ppo;

/// <summary>Where <see cref="PpoTrainer"/> gets the values that GAE needs (<see cref="PpoTrainingOptions.CriticMode"/>).</summary>
public enum CriticMode
{
    /// <summary>
    /// A separate value model (<c>LlamaForSequenceClassification</c>, initialised from the reward model, as ALMoST and
    /// OpenRLHF do), trained by its own optimizer; a second trunk in memory, and a second forward and backward per
    /// minibatch.
    /// </summary>
    Separate,

    /// <summary>
    /// A scalar head (Linear hidden → 1, its own seeded initialisation) on the policy's last hidden states: one
    /// forward of the policy trunk gives logits and values, the value loss is added to the policy loss with
    /// <see cref="PpoTrainingOptions.ValueLossCoefficient"/>, and only one trunk is held (TRL's
    /// <c>AutoModelForCausalLMWithValueHead</c>). Pass no critic to the trainer.
    /// </summary>
    SharedTrunk,

    /// <summary>No values: for critic-free advantage estimators (<see cref="GroupAdvantageEstimator"/>).</summary>
    None,
}
