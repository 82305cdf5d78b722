using Almost.Data;
using Almost.Models.Llama;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace Almost.Rlhf.RewardModeling;

/// <summary>
/// Trains a <see cref="LlamaForSequenceClassification"/> reward model on preference pairs with the Bradley–Terry loss
/// (<see cref="BradleyTerryLoss"/>: optional per-pair margin and reward centering). Pairs are encoded by the same
/// <see cref="RewardSequenceEncoder"/> that <see cref="RewardModel"/> scores with; both sides of a pair go through the
/// model in one batch. AdamW, warm-up + cosine, accumulation, clipping, evaluation every
/// <see cref="TrainingOptions.EvalSteps"/> (<c>eval_loss</c>, <c>eval_accuracy</c>, <c>eval_chosen_reward</c>,
/// <c>eval_rejected_reward</c>, <c>eval_margin</c>), checkpoints, exact resume, <c>metrics.jsonl</c> and progress come
/// from <see cref="SupervisedTrainingLoop{TBatch}"/>. After training, the mean / std of the rewards over the training
/// set are stored in the model and in the saved <c>config.json</c>.
/// </summary>
/// <example>
/// <code>
/// using var rm = LlamaForSequenceClassification.FromCausalLm("models/sft");
/// var trainer = new RewardModelTrainer(rm, AlmostTokenizer.FromFolder("models/sft"), trainPairs,
///     new RewardModelTrainingOptions { OutputDir = "out/rm", LearningRate = 1e-5, PerDeviceBatchSize = 8 }, evalPairs);
/// TrainingResult result = await trainer.TrainAsync(progress, cancellationToken);
/// </code>
/// </example>
public sealed class RewardModelTrainer : ITrainer
{
    private readonly SupervisedTrainingLoop<RewardModelPairBatch> _loop;
    private readonly LlamaForSequenceClassification _model;
    private readonly AlmostTokenizer _tokenizer;

    /// <summary>Encodes and checks the data; training starts with <see cref="TrainAsync"/>.</summary>
    /// <param name="model">The reward model to train, in place (e.g. <see cref="LlamaForSequenceClassification.FromCausalLm(string, ModelOptions?, int?)"/>).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="trainPairs">Training comparisons (TRL <c>{prompt, chosen, rejected}</c>, optional <c>margin</c>).</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="evalPairs">Optional held-out comparisons, evaluated every <see cref="TrainingOptions.EvalSteps"/> and at the end.</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <exception cref="ArgumentException">
    /// No training pair, a pair that encodes to nothing or has a bad margin, a token id outside the model's vocabulary
    /// (the message names the set and the record), or an option out of range.
    /// </exception>
    public RewardModelTrainer(
        LlamaForSequenceClassification model,
        AlmostTokenizer tokenizer,
        IReadOnlyList<PreferenceRecord> trainPairs,
        RewardModelTrainingOptions options,
        IReadOnlyList<PreferenceRecord>? evalPairs = null,
        ILogger<RewardModelTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(trainPairs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (trainPairs.Count == 0)
        {
            throw new ArgumentException("The training set has no pairs: there is nothing to train on.", nameof(trainPairs));
        }

        Encoder = RewardSequenceEncoder.For(model, tokenizer, options.MaxLength, options.AddBos);
        TrainDataset = Checked(RewardModelDataset.Encode(trainPairs, Encoder, "training"), model.Config, "training", nameof(trainPairs));
        EvalDataset = evalPairs is null || evalPairs.Count == 0
            ? null
            : Checked(RewardModelDataset.Encode(evalPairs, Encoder, "evaluation"), model.Config, "evaluation", nameof(evalPairs));
        Options = options;
        _model = model;
        _tokenizer = tokenizer;
        var log = (ILogger?)logger ?? NullLogger<RewardModelTrainer>.Instance;
        if (TrainDataset.TruncatedPairs > 0)
        {
            log.LogInformation("{Truncated} of {Pairs} training pairs exceed {MaxLength} tokens and lose prompt tokens from the left",
                TrainDataset.TruncatedPairs, TrainDataset.Count, Encoder.MaxLength);
        }

        _loop = new SupervisedTrainingLoop<RewardModelPairBatch>(
            new Objective(model, TrainDataset, EvalDataset, Encoder.PadTokenId, options), options, log);
    }

    /// <summary>The options of this run.</summary>
    public RewardModelTrainingOptions Options { get; }

    /// <summary>How the pairs were encoded (and how the trained model should be scored).</summary>
    public RewardSequenceEncoder Encoder { get; }

    /// <summary>The encoded training pairs.</summary>
    public RewardModelDataset TrainDataset { get; }

    /// <summary>The encoded evaluation pairs; null when none were given.</summary>
    public RewardModelDataset? EvalDataset { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps => _loop.TotalSteps;

    /// <summary>Optimizer steps per pass over the training pairs.</summary>
    public int StepsPerEpoch => _loop.StepsPerEpoch;

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(
            () =>
            {
                var result = _loop.Run(progress, cancellationToken);
                if (Options.ComputeNormalization)
                {
                    _model.Normalization = TrainingSetNormalization(cancellationToken);
                    _model.SaveConfig(Options.OutputDir);
                }

                return result;
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>Mean and standard deviation of the rewards of both sides of every training pair.</summary>
    private RewardNormalization TrainingSetNormalization(CancellationToken cancellationToken)
    {
        var sequences = TrainDataset.SelectMany(p => new[] { p.Chosen, p.Rejected }).ToArray();
        var scorer = new RewardModel(_model, _tokenizer, new RewardModelOptions
        {
            BatchSize = 2 * Options.PerDeviceBatchSize, MaxLength = Options.MaxLength, AddBos = Options.AddBos,
        });
        _model.eval();
        var scores = scorer.Score(sequences, cancellationToken);
        var mean = scores.Average();
        var std = Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / scores.Length);
        // A model whose rewards are all equal has no scale to normalise by; keep std 1 rather than divide by zero.
        return new RewardNormalization(mean, std > 0 && double.IsFinite(std) ? std : 1.0);
    }

    private static RewardModelDataset Checked(RewardModelDataset dataset, LlamaConfig config, string what, string paramName)
    {
        for (var i = 0; i < dataset.Count; i++)
        {
            foreach (var (side, ids) in new[] { ("chosen", dataset[i].Chosen), ("rejected", dataset[i].Rejected) })
            {
                var bad = Array.FindIndex(ids, id => id >= config.VocabSize);
                if (bad >= 0)
                {
                    throw new ArgumentException(
                        $"Record {i} of the {what} set: the {side} sequence has token id {ids[bad]} at position {bad}, outside the model's vocabulary of {config.VocabSize}.",
                        paramName);
                }
            }
        }

        return dataset;
    }

    /// <summary>The reward-model objective plugged into the shared loop.</summary>
    private sealed class Objective(
        LlamaForSequenceClassification model, RewardModelDataset train, RewardModelDataset? eval, int padId, RewardModelTrainingOptions options)
        : ITrainingObjective<RewardModelPairBatch>
    {
        public nn.Module Model => model;

        public int TrainExampleCount => train.Count;

        public bool HasEvaluation => eval is not null;

        public RewardModelPairBatch CreateBatch(IReadOnlyList<int> exampleIndices) =>
            RewardModelPairBatch.Collate(exampleIndices.Select(i => train[i]).ToArray(), padId, model.Device);

        public ObjectiveOutput ComputeLoss(RewardModelPairBatch batch) =>
            BradleyTerryLoss.Compute(model, batch, options.CenterRewardsCoefficient);

        public IReadOnlyDictionary<string, double> Evaluate(CancellationToken cancellationToken)
        {
            var data = eval!;
            string[] names = ["loss", BradleyTerryLoss.Accuracy, BradleyTerryLoss.ChosenReward, BradleyTerryLoss.RejectedReward, BradleyTerryLoss.Margin];
            using var totals = zeros(names.Length, dtype: ScalarType.Float32, device: model.Device);
            for (var start = 0; start < data.Count; start += options.PerDeviceBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var pairs = Enumerable.Range(start, Math.Min(options.PerDeviceBatchSize, data.Count - start)).Select(i => data[i]).ToArray();
                using var batch = RewardModelPairBatch.Collate(pairs, padId, model.Device);
                var output = BradleyTerryLoss.Compute(model, batch, options.CenterRewardsCoefficient);
                totals.add_(stack([output.LossSum, .. names.Skip(1).Select(n => output.Metrics![n].Sum)]));
            }

            var sums = totals.cpu().data<float>().ToArray();   // one host copy for the whole evaluation
            return names.Select((name, i) => (name, value: sums[i] / (double)data.Count)).ToDictionary(x => x.name, x => x.value);
        }

        public void SaveModel(string folder) => model.SavePretrained(folder);

        public void LoadModel(string folder) => model.LoadWeights(folder);
    }
}
