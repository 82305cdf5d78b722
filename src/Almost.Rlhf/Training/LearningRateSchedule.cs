
namespace Almost.Rlhf.Training;

/// <summary>
/// The learning rate as a pure function of the optimizer step: linear warm-up, then cosine, linear or constant. Being a
/// function of the step alone (no scheduler object with state), it resumes exactly from any checkpoint.
/// </summary>
internal static class LearningRateSchedule
{
    /// <summary>
    /// The learning rate for the optimizer step with 0-based index <paramref name="step"/> (the step about to be taken).
    /// </summary>
    /// <remarks>
    /// Warm-up (<c>step &lt; W</c>): <c>peak · (step + 1) / W</c>, so the first step already moves and step <c>W − 1</c>
    /// is at the peak (Hugging Face starts at exactly 0, wasting a step). Decay (<c>step ≥ W</c>): with
    /// <c>p = (step − W) / (T − W)</c>, cosine gives <c>min + (peak − min) · ½(1 + cos πp)</c>, linear gives
    /// <c>peak − (peak − min) · p</c>, constant gives <c>peak</c>; <c>min = peak · minRatio</c>, reached at
    /// <c>step = T</c> (just after the last step). Steps past <c>T</c> stay at <c>min</c>.
    /// </remarks>
    /// <param name="step">0-based optimizer step.</param>
    /// <param name="totalSteps">T: optimizer steps in the run.</param>
    /// <param name="warmupSteps">W: warm-up steps.</param>
    /// <param name="peak">Peak learning rate.</param>
    /// <param name="type">Shape after warm-up.</param>
    /// <param name="minRatio">End learning rate as a fraction of <paramref name="peak"/>.</param>
    /// <returns>The learning rate.</returns>
    public static double At(long step, long totalSteps, long warmupSteps, double peak, LrSchedulerType type, double minRatio = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (step < warmupSteps)
        {
            return peak * (step + 1) / warmupSteps;
        }

        if (type == LrSchedulerType.Constant)
        {
            return peak;
        }

        var min = peak * minRatio;
        var decaySteps = totalSteps - warmupSteps;
        var progress = decaySteps <= 0 ? 1.0 : Math.Min(1.0, (double)(step - warmupSteps) / decaySteps);
        return type switch
        {
            LrSchedulerType.Cosine => min + ((peak - min) * 0.5 * (1.0 + Math.Cos(Math.PI * progress))),
            LrSchedulerType.Linear => peak - ((peak - min) * progress),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown learning-rate schedule."),
        };
    }

    /// <summary>The learning rate of step <paramref name="step"/> under <paramref name="options"/> for a run of <paramref name="totalSteps"/>.</summary>
    /// <param name="options">Peak, schedule, warm-up and minimum ratio.</param>
    /// <param name="step">0-based optimizer step.</param>
    /// <param name="totalSteps">Optimizer steps in the run.</param>
    /// <returns>The learning rate.</returns>
    public static double At(TrainingOptions options, long step, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        return At(step, totalSteps, WarmupSteps(options, totalSteps), options.LearningRate, options.LrScheduler, options.MinLearningRateRatio);
    }

    /// <summary>
    /// Warm-up length: <see cref="TrainingOptions.WarmupSteps"/> when set, else
    /// <c>ceil(WarmupRatio · totalSteps)</c> (as Hugging Face).
    /// </summary>
    /// <param name="options">The options.</param>
    /// <param name="totalSteps">Optimizer steps in the run.</param>
    /// <returns>Warm-up steps.</returns>
    public static long WarmupSteps(TrainingOptions options, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.WarmupSteps ?? (long)Math.Ceiling(options.WarmupRatio * totalSteps);
    }
}
