using System.Diagnostics;
using System.Globalization;
using Almost.Devices;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// The loop of every supervised trainer (causal LM / SFT, reward model, DPO): for each optimizer step, set the
/// learning rate, run the accumulated micro-batches (loss → backward), clip, step AdamW, then log, evaluate and
/// checkpoint on their intervals. It composes the training core: an <see cref="OptimizerStepper"/>, a
/// <see cref="CheckpointManager"/> and a <see cref="MetricsSink"/>; the <see cref="ITrainingObjective{TBatch}"/>
/// owns the model, batching, loss and evaluation.
/// </summary>
/// <remarks>
/// <para>
/// Data order: each epoch is a permutation of the example indices drawn from a generator seeded by
/// <c>Determinism.DeriveSeed(Seed, "epoch-{e}")</c>, cut into micro-batches of <c>PerDeviceBatchSize</c> (the last one
/// may be smaller), grouped <c>GradientAccumulationSteps</c> at a time into optimizer steps (the last group of an epoch
/// may be smaller). The position in the data is therefore a pure function of the global step, and so is the learning
/// rate: resuming needs the step, the weights, the optimizer state and the partial sums of the current logging
/// interval (saved too, so the losses logged after a resume equal the uninterrupted run's for any checkpoint and
/// logging intervals).
/// </para>
/// <para>
/// Each optimizer step runs in one dispose scope. The loss and metrics stay on the device (running sums); the host
/// reads them, and the gradient norm, only at logging steps.
/// </para>
/// </remarks>
/// <typeparam name="TBatch">The objective's micro-batch type.</typeparam>
public sealed class SupervisedTrainingLoop<TBatch> where TBatch : ITrainingBatch
{
    private const string IntervalPartName = "log_interval";
    private const string IntervalFileName = "log_interval.json";

    private readonly ITrainingObjective<TBatch> _objective;
    private readonly TrainingOptions _options;
    private readonly ILogger _logger;
    private int[]? _order;
    private long _orderEpoch = -1;

    /// <summary>Creates the loop; nothing runs until <see cref="Run"/>.</summary>
    /// <param name="objective">Model, batching, loss and evaluation.</param>
    /// <param name="options">Training options (validated here).</param>
    /// <param name="logger">Receives one line per logging step, checkpoint and resume.</param>
    /// <exception cref="ArgumentException">The objective has no training examples, or an option is out of range.</exception>
    public SupervisedTrainingLoop(ITrainingObjective<TBatch> objective, TrainingOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        if (objective.TrainExampleCount <= 0)
        {
            throw new ArgumentException("The training dataset is empty: there is nothing to train on.", nameof(objective));
        }

        _objective = objective;
        _options = options;
        _logger = logger;
        MicroBatchesPerEpoch = (objective.TrainExampleCount + options.PerDeviceBatchSize - 1) / options.PerDeviceBatchSize;
        StepsPerEpoch = (MicroBatchesPerEpoch + options.GradientAccumulationSteps - 1) / options.GradientAccumulationSteps;
        TotalSteps = options.MaxSteps ?? (long)StepsPerEpoch * options.Epochs;
    }

    /// <summary>Micro-batches in one pass over the training data.</summary>
    public int MicroBatchesPerEpoch { get; }

    /// <summary>Optimizer steps in one pass over the training data.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>
    /// Trains to <see cref="TotalSteps"/> (resuming first when <see cref="TrainingOptions.ResumeFromCheckpoint"/> and a
    /// checkpoint exists) and saves the final model to <see cref="TrainingOptions.OutputDir"/>. Synchronous: call it on
    /// a worker thread.
    /// </summary>
    /// <param name="progress">Receives a report at each logging step.</param>
    /// <param name="cancellationToken">Checked after every optimizer step.</param>
    /// <returns>The result.</returns>
    /// <exception cref="OperationCanceledException">Cancelled (after saving a checkpoint when <see cref="TrainingOptions.SaveCheckpointOnCancel"/>).</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume from was made with other settings.</exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var outputDir = _options.OutputDir;
        Directory.CreateDirectory(outputDir);
        var model = _objective.Model;
        using var stepper = new OptimizerStepper(model, _options, TotalSteps);
        var interval = new LogInterval(stepper.Device);
        var checkpoints = new CheckpointManager(outputDir, _logger);
        checkpoints.Register("model", CheckpointParts.FromDelegates(_objective.SaveModel, _objective.LoadModel));
        checkpoints.Register("optimizer", stepper);
        checkpoints.Register(IntervalPartName, CheckpointParts.Json(IntervalFileName, interval.Capture, interval.Restore));
        var settings = Settings(stepper);

        long startStep = 0;
        long? resumedFrom = null;
        double? lastLoss = null;
        IReadOnlyDictionary<string, double> lastMetrics = new Dictionary<string, double>();
        IReadOnlyDictionary<string, double>? lastEval = null;
        var resumed = _options.ResumeFromCheckpoint ? checkpoints.TryResume((state, folder) => ResumeSettings.Check(state, folder, settings, _options.AllowChangedSettingsOnResume, _logger)) : null;
        if (resumed is { } found)
        {
            startStep = found.State.GlobalStep;
            resumedFrom = startStep;
            lastLoss = found.State.Loss;
            lastEval = found.State.EvalLoss is { } e ? new Dictionary<string, double> { ["loss"] = e } : null;
            _logger.LogInformation("Resuming from {Checkpoint} at step {Step}/{TotalSteps}", found.Folder, startStep, TotalSteps);
        }
        else
        {
            checkpoints.DeleteAll();
        }

        using var metrics = MetricsSink.Open(outputDir, startStep, _logger, progress);
        var batchSize = _options.PerDeviceBatchSize;
        var accumulation = _options.GradientAccumulationSteps;
        var logClock = Stopwatch.StartNew();
        model.train();
        try
        {
            for (var step = startStep; step < TotalSteps; step++)
            {
                var lr = stepper.BeginStep(step);
                var (epoch, stepInEpoch) = (step / StepsPerEpoch, step % StepsPerEpoch);
                var order = OrderOf(epoch);
                var firstMicro = (int)stepInEpoch * accumulation;
                var microCount = Math.Min(accumulation, MicroBatchesPerEpoch - firstMicro);
                using (var scope = NewDisposeScope())
                {
                    var batches = new TBatch[microCount];
                    long units = 0;
                    for (var m = 0; m < microCount; m++)
                    {
                        var start = (firstMicro + m) * batchSize;
                        var count = Math.Min(batchSize, order.Length - start);
                        batches[m] = _objective.CreateBatch(new ArraySegment<int>(order, start, count));
                        units += batches[m].LossUnits;
                        interval.Tokens += batches[m].InputTokens;
                    }

                    foreach (var batch in batches)
                    {
                        var output = _objective.ComputeLoss(batch);
                        interval.AddLoss(stepper.Backward(output.LossSum, units));
                        interval.AddMetrics(output.Metrics);
                        batch.Dispose();
                    }

                    interval.SetGradNorm(stepper.Step());
                }

                var done = step + 1;
                interval.Steps++;
                IReadOnlyDictionary<string, double>? evalMetrics = null;
                var evaluate = _objective.HasEvaluation
                               && ((_options.EvalSteps > 0 && done % _options.EvalSteps == 0) || done == TotalSteps);
                if (evaluate)
                {
                    evalMetrics = Evaluate(model, cancellationToken);
                    lastEval = evalMetrics;
                }

                var epochProgress = epoch + ((double)(stepInEpoch + 1) / StepsPerEpoch);
                if (done % _options.LoggingSteps == 0 || done == TotalSteps || evaluate)
                {
                    var seconds = logClock.Elapsed.TotalSeconds;
                    var (loss, gradNorm, means) = interval.Drain();
                    var tokensPerSecond = seconds > 0 ? interval.Tokens / seconds : 0;
                    interval.Tokens = 0;
                    logClock.Restart();
                    lastLoss = loss;
                    lastMetrics = means;
                    metrics.Report(new TrainingProgress(done, TotalSteps, epochProgress, loss, lr, gradNorm, tokensPerSecond,
                        EvalLossOf(evalMetrics))
                    {
                        Metrics = means,
                        EvalMetrics = evalMetrics,
                    });
                }

                var cancelled = cancellationToken.IsCancellationRequested;
                var save = (_options.SaveSteps > 0 && done % _options.SaveSteps == 0 && done < TotalSteps)
                           || (cancelled && _options.SaveCheckpointOnCancel && done < TotalSteps);
                if (save)
                {
                    checkpoints.Save(new TrainerState
                    {
                        GlobalStep = done,
                        TotalSteps = TotalSteps,
                        Seed = _options.Seed,
                        Epoch = done / StepsPerEpoch,
                        StepInEpoch = done % StepsPerEpoch,
                        MicroBatchInEpoch = Math.Min((done % StepsPerEpoch) * accumulation, MicroBatchesPerEpoch),
                        LearningRate = lr,
                        Loss = lastLoss,
                        EvalLoss = EvalLossOf(lastEval),
                        Settings = settings,
                    }, _options.SaveTotalLimit);
                }

                if (cancelled && done < TotalSteps)
                {
                    _logger.LogInformation("Training cancelled after step {Step}/{TotalSteps}; checkpoint saved: {Saved}", done, TotalSteps, save);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            _objective.SaveFinalModel(outputDir);
            _logger.LogInformation("Training finished at step {Step}; model saved to {OutputDir}", TotalSteps, outputDir);
            return new TrainingResult(TotalSteps, (double)TotalSteps / StepsPerEpoch, lastLoss, EvalLossOf(lastEval), outputDir,
                resumedFrom, clock.Elapsed)
            {
                Metrics = lastMetrics,
                EvalMetrics = lastEval,
            };
        }
        finally
        {
            interval.Dispose();
        }
    }

    private static double? EvalLossOf(IReadOnlyDictionary<string, double>? metrics) =>
        metrics is not null && metrics.TryGetValue("loss", out var loss) ? loss : null;

    private IReadOnlyDictionary<string, double> Evaluate(nn.Module model, CancellationToken cancellationToken)
    {
        model.eval();
        try
        {
            using var noGrad = no_grad();
            return _objective.Evaluate(cancellationToken);
        }
        finally
        {
            model.train();
        }
    }

    private Dictionary<string, string> Settings(OptimizerStepper stepper)
    {
        var settings = new Dictionary<string, string>(stepper.Settings)
        {
            ["seed"] = _options.Seed.ToString(CultureInfo.InvariantCulture),
            ["per_device_batch_size"] = _options.PerDeviceBatchSize.ToString(CultureInfo.InvariantCulture),
            ["gradient_accumulation_steps"] = _options.GradientAccumulationSteps.ToString(CultureInfo.InvariantCulture),
            ["train_example_count"] = _objective.TrainExampleCount.ToString(CultureInfo.InvariantCulture),
            ["total_steps"] = TotalSteps.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in _objective.Settings)
        {
            settings[name] = value;
        }

        return settings;
    }

    /// <summary>The shuffled example order of <paramref name="epoch"/>: Fisher–Yates with a generator seeded by (Seed, epoch).</summary>
    private int[] OrderOf(long epoch)
    {
        if (_order is not null && _orderEpoch == epoch)
        {
            return _order;
        }

        var order = Enumerable.Range(0, _objective.TrainExampleCount).ToArray();
        var random = Determinism.CreateRandom(_options.Seed, $"epoch-{epoch}");
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        _order = order;
        _orderEpoch = epoch;
        return order;
    }
}
