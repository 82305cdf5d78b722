using Almost.Checkpoints;
using Almost.Models.Llama;
using Almost.Models.Lora;
using Almost.Rlhf.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace Almost.Rlhf.CausalLm;

/// <summary>
/// Trains a <see cref="LlamaForCausalLM"/> on next-token prediction: pretraining on packed blocks
/// (<see cref="CausalLmDataset.Pack"/>) or supervised fine-tuning with loss on masked-in tokens only. Loss: mean token
/// cross-entropy in fp32 over the targets of each optimizer step (<see cref="CausalLmLoss"/>). Checkpoints, exact
/// resume, metrics and progress come from <see cref="SupervisedTrainingLoop{TBatch}"/>.
/// </summary>
/// <example>
/// <code>
/// var trainer = new CausalLmTrainer(model, CausalLmDataset.Pack(docs, 128, eosId),
///     new CausalLmTrainingOptions { OutputDir = "out/tiny", LearningRate = 2e-3, Epochs = 2 });
/// TrainingResult result = await trainer.TrainAsync(progress, cancellationToken);
/// </code>
/// </example>
public sealed class CausalLmTrainer : ITrainer
{
    private readonly SupervisedTrainingLoop<CausalLmBatch> _loop;
    private readonly Objective _objective;
    private readonly LlamaForCausalLM _model;

    /// <summary>Checks the data against the model and prepares the run; training starts with <see cref="TrainAsync"/>.</summary>
    /// <param name="model">The model to train, in place (fp32 weights recommended for training on CPU).</param>
    /// <param name="trainDataset">Training examples.</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="evalDataset">Optional evaluation examples (loss reported every <see cref="TrainingOptions.EvalSteps"/> and at the end).</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <exception cref="ArgumentException">
    /// A dataset is empty, an example is longer than the model's <c>max_position_embeddings</c>, or holds a token id
    /// outside the vocabulary (the message names the dataset, example and position); or an option is out of range.
    /// </exception>
    public CausalLmTrainer(
        LlamaForCausalLM model,
        CausalLmDataset trainDataset,
        CausalLmTrainingOptions options,
        CausalLmDataset? evalDataset = null,
        ILogger<CausalLmTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainDataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckDataset(model.Config, trainDataset, "training", nameof(trainDataset));
        if (evalDataset is not null)
        {
            CheckDataset(model.Config, evalDataset, "evaluation", nameof(evalDataset));
        }

        var padId = model.Config.ResolvePadTokenId(options.PadTokenId);
        if (padId >= model.Config.VocabSize)
        {
            throw new ArgumentException($"Pad token id {padId} is outside the model's vocabulary of {model.Config.VocabSize}.", nameof(options));
        }

        Options = options;
        _model = model;
        _objective = new Objective(model, trainDataset, evalDataset, padId, options.PerDeviceBatchSize, options.Lora);
        _loop = new SupervisedTrainingLoop<CausalLmBatch>(
            _objective,
            options,
            (ILogger?)logger ?? NullLogger<CausalLmTrainer>.Instance);
    }

    /// <summary>Subfolder of the output folder that holds the trained LoRA adapter (<see cref="CausalLmTrainingOptions.Lora"/>).</summary>
    public const string AdapterFolderName = "adapter";

    /// <summary>The options of this run.</summary>
    public CausalLmTrainingOptions Options { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps => _loop.TotalSteps;

    /// <summary>Optimizer steps per pass over the training data.</summary>
    public int StepsPerEpoch => _loop.StepsPerEpoch;

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(
            () => Run(progress, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private TrainingResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        if (Options.Lora is null)
        {
            return _loop.Run(progress, cancellationToken);
        }

        // LoRA: attached for the run only. The end merges it (SaveFinalModel); a run that stops early
        // detaches it, leaving the model's base weights as they were (they were frozen) and the adapter in the checkpoint.
        using var adapter = LoraAdapter.Attach(_model, Options.Lora, Options.Seed);
        _objective.Adapter = adapter;
        try
        {
            return _loop.Run(progress, cancellationToken);
        }
        finally
        {
            _objective.Adapter = null;
        }
    }

    private static void CheckDataset(LlamaConfig config, CausalLmDataset dataset, string what, string paramName)
    {
        if (dataset.Count == 0)
        {
            throw new ArgumentException($"The {what} dataset is empty: there is nothing to train on.", paramName);
        }

        for (var i = 0; i < dataset.Count; i++)
        {
            var ids = dataset[i].InputIds;
            if (ids.Length > config.MaxPositionEmbeddings)
            {
                throw new ArgumentException(
                    $"Example {i} of the {what} dataset has {ids.Length} tokens, more than the model's max_position_embeddings " +
                    $"({config.MaxPositionEmbeddings}). Truncate or split it (or pack with a smaller BlockSize).",
                    paramName);
            }

            for (var j = 0; j < ids.Length; j++)
            {
                if (ids[j] >= config.VocabSize)
                {
                    throw new ArgumentException(
                        $"Example {i} of the {what} dataset has token id {ids[j]} at position {j}, outside the model's vocabulary of {config.VocabSize}.",
                        paramName);
                }
            }
        }
    }

    /// <summary>The causal-LM objective plugged into the shared loop.</summary>
    private sealed class Objective(
        LlamaForCausalLM model, CausalLmDataset train, CausalLmDataset? eval, int padId, int batchSize, LoraOptions? lora)
        : ITrainingObjective<CausalLmBatch>
    {
        /// <summary>The LoRA adapter being trained, or null for full fine-tuning.</summary>
        public LoraAdapter? Adapter { get; set; }

        // With LoRA the optimizer gets the adapter's parameters only (the adapter's train/eval also switch the model).
        public nn.Module Model => (nn.Module?)Adapter ?? model;

        public int TrainExampleCount => train.Count;

        public bool HasEvaluation => eval is not null;

        public CausalLmBatch CreateBatch(IReadOnlyList<int> exampleIndices)
        {
            var examples = new CausalLmExample[exampleIndices.Count];
            for (var i = 0; i < examples.Length; i++)
            {
                examples[i] = train[exampleIndices[i]];
            }

            return CausalLmBatch.Collate(examples, padId, model.Device);
        }

        public ObjectiveOutput ComputeLoss(CausalLmBatch batch) => new(CausalLmLoss.Sum(model, batch));

        public IReadOnlyDictionary<string, double> Evaluate(CancellationToken cancellationToken)
        {
            var data = eval!;
            using var total = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: model.Device);
            long units = 0;
            for (var start = 0; start < data.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var examples = Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).Select(i => data[i]).ToArray();
                using var batch = CausalLmBatch.Collate(examples, padId, model.Device);
                total.add_(CausalLmLoss.Sum(model, batch));
                units += batch.LossUnits;
            }

            return new Dictionary<string, double> { ["loss"] = units == 0 ? double.NaN : total.item<float>() / (double)units };
        }

        // With LoRA a checkpoint's model part is the adapter: the only trained state.
        public void SaveModel(string folder)
        {
            if (Adapter is null)
            {
                model.SavePretrained(folder);
            }
            else
            {
                Adapter.Save(folder);
            }
        }

        // The end of training: with LoRA the adapter (PEFT layout) goes to adapter/, then is merged; the output is a plain model.
        public void SaveFinalModel(string folder)
        {
            if (Adapter is not null)
            {
                Adapter.Save(Path.Combine(folder, AdapterFolderName));
                Adapter.Merge();
            }

            model.SavePretrained(folder);
        }

        // Recorded only with LoRA, so checkpoints of full fine-tuning made before this setting existed still resume.
        public IReadOnlyDictionary<string, string> Settings => lora is null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["lora.rank"] = lora.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["lora.alpha"] = lora.Alpha.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["lora.target_modules"] = string.Join(",", lora.TargetModules),
        };

        public void LoadModel(string folder)
        {
            if (Adapter is null)
            {
                model.LoadWeights(folder);
            }
            else
            {
                Adapter.LoadWeights(folder);
            }
        }
    }
}
