using System.Diagnostics;
using Almost.Devices;
using Almost.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// The training loop trainers compose: for each optimizer step, set the learning rate from the schedule, run the
/// accumulated micro-batches (loss → backward), clip, step AdamW, then log, evaluate and checkpoint on their
/// intervals. It owns the data order, the optimizer, the metrics file and the checkpoints; the
/// <see cref="ITrainingObjective{TBatch}"/> owns the model, batching and loss.
/// </summary>
/// <remarks>
/// <para>
/// Data order: each epoch is a permutation of the example indices drawn from a generator seeded by
/// <c>Determinism.DeriveSeed(Seed, "epoch-{e}")</c>, cut into micro-batches of <c>PerDeviceBatchSize</c> (the last one
/// may be smaller), grouped <c>GradientAccumulationSteps</c> at a time into optimizer steps (the last group of an epoch
/// may be smaller). The position in the data is therefore a pure function of the global step, and so is the learning
/// rate: resuming needs only the step, the weights and the optimizer state.
/// </para>
/// <para>
/// Each optimizer step runs in one dispose scope. The loss stays on the device (a running sum); the host reads it,
/// and the gradient norm, only at logging steps.
/// </para>
/// </remarks>
/// <typeparam name="TBatch">The objective's micro-batch type.</typeparam>
public sealed class TrainingLoop<TBatch> where TBatch : ITrainingBatch
{
    private readonly ITrainingObjective<TBatch> _objective;
    private readonly TrainingOptions _options;
    private readonly ILogger _logger;
    private int[]? _order;
    private long _orderEpoch = -1;

    /// <summary>Creates the loop; nothing runs until <see cref="Run"/>.</summary>
    /// <param name="objective">Model, batching and loss.</param>
    /// <param name="options">Validated training options.</param>
    /// <param name="logger">Receives one line per logging step.</param>
    /// <exception cref="ArgumentException">The objective has no training examples, or an option is out of range.</exception>
    public TrainingLoop(ITrainingObjective<TBatch> objective, TrainingOptions options, ILogger logger)
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
    /// <exception cref="InvalidOperationException">The checkpoint to resume from was made with incompatible settings.</exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var outputDir = _options.OutputDir;
        Directory.CreateDirectory(outputDir);
        var model = _objective.Model;
        using var optimizer = AdamWOptimizer.Create(model, _options);
        var parameters = model.parameters().Where(p => p.requires_grad).ToArray();

        long startStep = 0;
        long? resumedFrom = null;
        double? lastLoss = null, lastEval = null;
        TrainingCheckpoints.DeleteIncomplete(outputDir);
        var checkpoint = _options.ResumeFromCheckpoint ? TrainingCheckpoints.FindLatest(outputDir) : null;
        if (checkpoint is not null)
        {
            var state = TrainingCheckpoints.ReadState(checkpoint);
            CheckCompatible(state, checkpoint);
            _objective.LoadModel(checkpoint);
            using (var reader = new BinaryReader(File.OpenRead(Path.Combine(checkpoint, TrainingCheckpoints.OptimizerFileName))))
            {
                optimizer.load_state_dict(reader);
            }

            startStep = state.GlobalStep;
            resumedFrom = startStep;
            lastLoss = state.Loss;
            lastEval = state.EvalLoss;
            _logger.LogInformation("Resuming from {Checkpoint} at step {Step}/{TotalSteps}", checkpoint, startStep, TotalSteps);
        }
        else
        {
            TrainingCheckpoints.DeleteAll(outputDir);
        }

        using var metrics = MetricsLog.Open(outputDir, startStep);
        var device = parameters.Length > 0 ? parameters[0].device : CPU;
        using var runningLoss = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device);
        Tensor? lastGradNorm = null;
        long stepsSinceLog = 0, tokensSinceLog = 0;
        var logClock = Stopwatch.StartNew();
        double lr = 0;
        long lastSaved = -1;
        var batchSize = _options.PerDeviceBatchSize;
        var accumulation = _options.GradientAccumulationSteps;
        model.train();
        try
        {
            for (var step = startStep; step < TotalSteps; step++)
            {
                lr = LearningRateSchedule.At(_options, step, TotalSteps);
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = lr;
                }

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
                        tokensSinceLog += batches[m].InputTokens;
                    }

                    var denominator = (double)Math.Max(units, 1);
                    foreach (var batch in batches)
                    {
                        var loss = _objective.ComputeLossSum(batch) / denominator;
                        loss.backward();
                        runningLoss.add_(loss.detach());
                        batch.Dispose();
                    }

                    var gradNorm = GradientClipping.ClipGradNorm(parameters, _options.MaxGradNorm);
                    optimizer.step();
                    optimizer.zero_grad();
                    lastGradNorm?.Dispose();
                    lastGradNorm = gradNorm.DetachFromDisposeScope();
                }

                var done = step + 1;
                stepsSinceLog++;
                double? evalLoss = null;
                var evaluate = _objective.HasEvaluation
                               && ((_options.EvalSteps > 0 && done % _options.EvalSteps == 0) || done == TotalSteps);
                if (evaluate)
                {
                    evalLoss = Evaluate(model, cancellationToken);
                    lastEval = evalLoss;
                }

                var epochProgress = epoch + ((double)(stepInEpoch + 1) / StepsPerEpoch);
                if (done % _options.LoggingSteps == 0 || done == TotalSteps || evaluate)
                {
                    var loss = runningLoss.item<float>() / (double)stepsSinceLog;
                    var gradNormValue = (double)lastGradNorm!.item<float>();
                    var seconds = logClock.Elapsed.TotalSeconds;
                    var tokensPerSecond = seconds > 0 ? tokensSinceLog / seconds : 0;
                    runningLoss.zero_();
                    stepsSinceLog = 0;
                    tokensSinceLog = 0;
                    logClock.Restart();
                    lastLoss = loss;
                    metrics.Append(new TrainingMetricsRecord(done, epochProgress, loss, lr, gradNormValue, tokensPerSecond, evalLoss));
                    _logger.LogInformation(
                        "Step {Step}/{TotalSteps} loss {Loss:F4} lr {LearningRate:E2} grad_norm {GradNorm:F3} tokens/s {TokensPerSecond:F0} eval_loss {EvalLoss}",
                        done, TotalSteps, loss, lr, gradNormValue, tokensPerSecond, evalLoss);
                    progress?.Report(new TrainingProgress(done, TotalSteps, epochProgress, loss, lr, gradNormValue, tokensPerSecond, evalLoss));
                }

                var cancelled = cancellationToken.IsCancellationRequested;
                var save = (_options.SaveSteps > 0 && done % _options.SaveSteps == 0 && done < TotalSteps)
                           || (cancelled && _options.SaveCheckpointOnCancel && done < TotalSteps);
                if (save)
                {
                    SaveCheckpoint(optimizer, done, lr, lastLoss, lastEval);
                    lastSaved = done;
                }

                if (cancelled && done < TotalSteps)
                {
                    _logger.LogInformation("Training cancelled after step {Step}/{TotalSteps}; checkpoint saved: {Saved}", done, TotalSteps, lastSaved == done);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            _objective.SaveModel(outputDir);
            _logger.LogInformation("Training finished at step {Step}; model saved to {OutputDir}", TotalSteps, outputDir);
            return new TrainingResult(
                TotalSteps,
                (double)TotalSteps / StepsPerEpoch,
                lastLoss,
                lastEval,
                outputDir,
                resumedFrom,
                clock.Elapsed);
        }
        finally
        {
            lastGradNorm?.Dispose();
        }
    }

    private double Evaluate(nn.Module model, CancellationToken cancellationToken)
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

    private void SaveCheckpoint(AdamW optimizer, long done, double lr, double? loss, double? evalLoss)
    {
        var state = new TrainerState
        {
            GlobalStep = done,
            TotalSteps = TotalSteps,
            Epoch = done / StepsPerEpoch,
            StepInEpoch = done % StepsPerEpoch,
            MicroBatchInEpoch = Math.Min((done % StepsPerEpoch) * _options.GradientAccumulationSteps, MicroBatchesPerEpoch),
            Seed = _options.Seed,
            PerDeviceBatchSize = _options.PerDeviceBatchSize,
            GradientAccumulationSteps = _options.GradientAccumulationSteps,
            TrainExampleCount = _objective.TrainExampleCount,
            LearningRate = lr,
            Loss = loss,
            EvalLoss = evalLoss,
        };
        var folder = TrainingCheckpoints.Save(_options.OutputDir, state, temp =>
        {
            _objective.SaveModel(temp);
            Almost.IO.AtomicFile.Write(Path.Combine(temp, TrainingCheckpoints.OptimizerFileName), stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
                writer.Flush();
            });
        });
        TrainingCheckpoints.Prune(_options.OutputDir, _options.SaveTotalLimit);
        _logger.LogInformation("Saved checkpoint {Checkpoint}", folder);
    }

    private void CheckCompatible(TrainerState state, string checkpoint)
    {
        void Same<T>(string name, T saved, T now)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, now))
            {
                throw new InvalidOperationException(
                    $"Cannot resume from {checkpoint}: it was made with {name} = {saved}, but this run has {now}. " +
                    "Resuming exactly needs the same setting (or start a fresh run in another OutputDir).");
            }
        }

        Same(nameof(TrainerState.Seed), state.Seed, _options.Seed);
        Same(nameof(TrainerState.PerDeviceBatchSize), state.PerDeviceBatchSize, _options.PerDeviceBatchSize);
        Same(nameof(TrainerState.GradientAccumulationSteps), state.GradientAccumulationSteps, _options.GradientAccumulationSteps);
        Same("training example count", state.TrainExampleCount, _objective.TrainExampleCount);
        Same(nameof(TrainerState.TotalSteps), state.TotalSteps, TotalSteps);
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
