using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>A micro-batch built on the host by an <see cref="ITrainingObjective{TBatch}"/>; disposing it frees its tensors.</summary>
public interface ITrainingBatch : IDisposable
{
    /// <summary>
    /// How many units the loss is averaged over (for a language model: real target tokens with loss; for a reward
    /// model: pairs). Known on the host, so gradient accumulation can normalise by the units of all accumulated
    /// micro-batches without a device sync.
    /// </summary>
    long LossUnits { get; }

    /// <summary>Real (non-padding) input tokens, for the tokens-per-second figure.</summary>
    long InputTokens { get; }
}

/// <summary>
/// What a supervised trainer (causal LM, SFT, reward model, DPO) plugs into <see cref="SupervisedTrainingLoop{TBatch}"/>:
/// the model, how to batch examples, the loss with its metrics, and evaluation. The loop owns the order of the data,
/// the optimizer, the schedule, logging and checkpoints.
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
    /// The loss of <paramref name="batch"/> summed (not averaged) over its <see cref="ITrainingBatch.LossUnits"/>, plus
    /// named metrics. The loop divides the loss by the units of the whole optimizer step.
    /// </summary>
    /// <param name="batch">A batch from <see cref="CreateBatch"/>.</param>
    /// <returns>The summed loss and the metrics.</returns>
    ObjectiveOutput ComputeLoss(TBatch batch);

    /// <summary>Whether there is evaluation data (<see cref="Evaluate"/> returns metrics).</summary>
    bool HasEvaluation { get; }

    /// <summary>
    /// Evaluates on the evaluation data (the loop has put the model in eval mode under no-grad). The metric named
    /// <c>loss</c>, when present, is reported as the evaluation loss; every metric goes to <c>metrics.jsonl</c> as
    /// <c>eval_{name}</c>.
    /// </summary>
    /// <param name="cancellationToken">Checked between evaluation batches.</param>
    /// <returns>Named evaluation metrics.</returns>
    IReadOnlyDictionary<string, double> Evaluate(CancellationToken cancellationToken);

    /// <summary>Saves the model (Hugging Face layout) into <paramref name="folder"/>.</summary>
    /// <param name="folder">A checkpoint folder or the output folder.</param>
    void SaveModel(string folder);

    /// <summary>
    /// Saves the trained model into the output folder at the end of training. Default: <see cref="SaveModel"/>; an
    /// objective whose checkpoints hold less than the final model (a LoRA adapter, merged at the end) overrides it.
    /// </summary>
    /// <param name="folder">The output folder.</param>
    void SaveFinalModel(string folder) => SaveModel(folder);

    /// <summary>Loads weights saved by <see cref="SaveModel"/> from <paramref name="folder"/> into the model.</summary>
    /// <param name="folder">A checkpoint folder.</param>
    void LoadModel(string folder);

    /// <summary>
    /// Settings of the objective that a resumed run must share with its checkpoint (recorded in each checkpoint and
    /// compared on resume, with the loop's own). Default: none.
    /// </summary>
    IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();
}
