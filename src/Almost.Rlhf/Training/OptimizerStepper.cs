using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// The optimizer half of a training step, shared by every loop: AdamW with Hugging Face's two parameter groups (no
/// decay for biases and norm weights), the learning rate as a pure function of the step (warm-up, then cosine, linear
/// or constant), loss normalisation for gradient accumulation, and on-device gradient clipping. It is also the
/// checkpoint part of its optimizer state.
/// </summary>
/// <remarks>
/// One step: <see cref="BeginStep"/> (sets the learning rate), then <see cref="Backward"/> per micro-batch with the
/// units of the whole step, then <see cref="Step"/> (clip, update, zero the gradients). Nothing is copied to the host.
/// </remarks>
public sealed class OptimizerStepper : ICheckpointPart, IDisposable
{
    private readonly AdamW _optimizer;
    private readonly TrainingOptions _options;
    private readonly Parameter[] _parameters;

    /// <summary>Creates AdamW over the trainable parameters of <paramref name="model"/>.</summary>
    /// <param name="model">The module; parameters with <c>requires_grad = false</c> are left out.</param>
    /// <param name="options">Learning rate, schedule, betas, ε, weight decay and clipping.</param>
    /// <param name="totalSteps">Optimizer steps of the whole run (the schedule's length).</param>
    /// <param name="fileName">Name of the optimizer-state file in checkpoints (loops with two optimizers use two names).</param>
    public OptimizerStepper(nn.Module model, TrainingOptions options, long totalSteps, string fileName = TrainingCheckpoints.OptimizerFileName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        options.Validate();
        _options = options;
        _optimizer = AdamWOptimizer.Create(model, options);
        _parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        TotalSteps = totalSteps;
        FileName = fileName;
    }

    /// <summary>Optimizer steps of the run.</summary>
    public long TotalSteps { get; }

    /// <summary>Name of the optimizer-state file in checkpoints.</summary>
    public string FileName { get; }

    /// <summary>Learning rate of the step begun last.</summary>
    public double LearningRate { get; private set; }

    /// <summary>The trainable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The device of the parameters (CPU when there are none).</summary>
    public Device Device => _parameters.Length > 0 ? _parameters[0].device : CPU;

    /// <summary>The underlying optimizer (tests inspect its groups).</summary>
    internal AdamW Optimizer => _optimizer;

    /// <summary>
    /// The settings a resumed run must share with the run that wrote the checkpoint, as invariant strings keyed
    /// <c>optimizer.*</c>: peak learning rate, schedule, warm-up, minimum ratio, betas, ε, weight decay, clipping.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["optimizer.learning_rate"] = Invariant(_options.LearningRate),
        ["optimizer.lr_scheduler"] = _options.LrScheduler.ToString(),
        ["optimizer.warmup_steps"] = Invariant(LearningRateSchedule.WarmupSteps(_options, TotalSteps)),
        ["optimizer.min_learning_rate_ratio"] = Invariant(_options.MinLearningRateRatio),
        ["optimizer.adam_beta1"] = Invariant(_options.AdamBeta1),
        ["optimizer.adam_beta2"] = Invariant(_options.AdamBeta2),
        ["optimizer.adam_epsilon"] = Invariant(_options.AdamEpsilon),
        ["optimizer.weight_decay"] = Invariant(_options.WeightDecay),
        ["optimizer.max_grad_norm"] = Invariant(_options.MaxGradNorm),
    };

    /// <summary>Sets every group's learning rate for the step with 0-based index <paramref name="step"/>.</summary>
    /// <param name="step">The step about to be taken.</param>
    /// <returns>The learning rate.</returns>
    public double BeginStep(long step)
    {
        LearningRate = LearningRateSchedule.At(_options, step, TotalSteps);
        foreach (var group in _optimizer.ParamGroups)
        {
            group.LearningRate = LearningRate;
        }

        return LearningRate;
    }

    /// <summary>
    /// Back-propagates one micro-batch's summed loss divided by <paramref name="stepUnits"/>, the loss units of every
    /// micro-batch of the optimizer step together, so accumulating micro-batches takes the same step as one big batch.
    /// </summary>
    /// <param name="lossSum">The micro-batch's loss summed over its units (0-d, with a graph).</param>
    /// <param name="stepUnits">Loss units of the whole step (values below 1 count as 1).</param>
    /// <returns>This micro-batch's share of the step's mean loss, detached (0-d, on the device).</returns>
    public Tensor Backward(Tensor lossSum, long stepUnits)
    {
        ArgumentNullException.ThrowIfNull(lossSum);
        var loss = lossSum / (double)Math.Max(stepUnits, 1);
        loss.backward();
        return loss.detach();
    }

    /// <summary>Clips the gradients' global norm to <see cref="TrainingOptions.MaxGradNorm"/>, updates, and zeroes the gradients.</summary>
    /// <returns>The gradient norm before clipping (0-d fp32, on the device, in the caller's dispose scope).</returns>
    public Tensor Step()
    {
        var gradNorm = GradientClipping.ClipGradNorm(_parameters, _options.MaxGradNorm);
        _optimizer.step();
        _optimizer.zero_grad();
        return gradNorm;
    }

    /// <inheritdoc />
    public void Save(string folder) =>
        Almost.IO.AtomicFile.Write(Path.Combine(folder, FileName), stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            _optimizer.save_state_dict(writer);
            writer.Flush();
        });

    /// <inheritdoc />
    public void Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            _optimizer.load_state_dict(reader);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the optimizer state is truncated.", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _optimizer.Dispose();

    private static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
