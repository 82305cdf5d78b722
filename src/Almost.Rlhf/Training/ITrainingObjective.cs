using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>A micro-batch built on the host by an <see cref="ITrainingObjective{TBatch}"/>; disposing it frees its tensors.</summary>
public interface ITrainingBatch : IDisposable
{
    /// <summary>
    /// How many units the loss is averaged over (for a language model: real target tokens with loss). Known on the
    /// host, so gradient accumulation can normalise by the units of all accumulated micro-batches without a device sync.
    /// </summary>
    long LossUnits { get; }

    /// <summary>Real (non-padding) input tokens, for the tokens-per-second figure.</summary>
    long InputTokens { get; }
}

/// <summary>
/// What a trainer plugs into <see cref="TrainingLoop{TBatch}"/>: the model, how to batch examples and the loss. The
/// loop owns the order of the data, the optimizer, the schedule, logging and checkpoints.
/// </summary>
/// <typeparam name="TBatch">The micro-batch type.</typeparam>
public interface ITrainingObjective<TBatch> where TBatch : ITrainingBatch
{
    /// <summary>The module being trained (its trainable parameters go to the optimizer).</summary>
    nn.Module Model { get; }

    /// <summary>Number of training examples (the loop shuffles the indices 0..N-1 each epoch).</summary>
    int TrainExampleCount { get; }

    /// <summary>Builds the micro-batch of the training examples at <paramref name="exampleIndices"/>, in that order.</summary>
    /// <param name="exampleIndices">Indices into the training set.</param>
    /// <returns>The batch, with its tensors on the model's device.</returns>
    TBatch CreateBatch(IReadOnlyList<int> exampleIndices);

    /// <summary>
    /// The loss of <paramref name="batch"/> summed (not averaged) over its <see cref="ITrainingBatch.LossUnits"/>, as a
    /// 0-d fp32 tensor with a graph to the parameters. The loop divides by the units of the whole optimizer step.
    /// </summary>
    /// <param name="batch">A batch from <see cref="CreateBatch"/>.</param>
    /// <returns>The summed loss.</returns>
    Tensor ComputeLossSum(TBatch batch);

    /// <summary>Whether there is evaluation data (<see cref="Evaluate"/> returns a value).</summary>
    bool HasEvaluation { get; }

    /// <summary>The evaluation loss (the model is in eval mode and gradients are off while this runs).</summary>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>The mean loss over the evaluation set.</returns>
    double Evaluate(CancellationToken cancellationToken);

    /// <summary>Saves the model (Hugging Face layout) into <paramref name="folder"/>, which exists.</summary>
    /// <param name="folder">Target folder.</param>
    void SaveModel(string folder);

    /// <summary>Loads weights saved by <see cref="SaveModel"/> from <paramref name="folder"/> into the model.</summary>
    /// <param name="folder">A checkpoint folder.</param>
    void LoadModel(string folder);
}
