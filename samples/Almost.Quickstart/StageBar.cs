using System.Globalization;
using Almost.Rlhf.Training;
using Almost.Synthetic;
using Almost.Synthetic.SelfPlay;
using Almost.TinyWorld;

namespace Almost.Quickstart;

/// <summary>
/// One stage's progress as the console shows it, fed by the stage's own reports: each library progress type a
/// pipeline stage takes (<see cref="SyntheticProgress"/>, <see cref="SelfPlayProgress"/>, <see cref="TrainingProgress"/>)
/// and, for the evaluation, which reports nothing itself, one <see cref="SystemEvaluation"/> per system scored. Made by
/// <see cref="StageProgress.Bar"/>, which draws it.
/// </summary>
internal sealed class StageBar : IProgress<SyntheticProgress>, IProgress<SelfPlayProgress>, IProgress<TrainingProgress>
{
    private readonly Action<StageBar> _changed;
    private int _systems;

    internal StageBar(string name, Action<StageBar> changed)
    {
        Name = name;
        _changed = changed;
    }

    /// <summary>The stage's name as the bar shows it (e.g. <c>7-sft-almost</c>).</summary>
    public string Name { get; }

    /// <summary>Units done (queries accepted, prompts answered, folds, dialogues, optimizer steps, systems).</summary>
    public long Completed { get; private set; }

    /// <summary>Units the stage aims for; null while unknown (before the first report, or a stage that counts without a total).</summary>
    public long? Total { get; private set; }

    /// <summary>A short note from the last report (the configuration answered, the loss, the system scored), or null.</summary>
    public string? Detail { get; private set; }

    /// <summary>Whether any report came in (a stage whose work was done before reports nothing).</summary>
    public bool Reported { get; private set; }

    /// <inheritdoc />
    public void Report(SyntheticProgress value) => Update(value.Completed, value.Total, value.Detail);

    /// <inheritdoc />
    public void Report(SelfPlayProgress value) => Update(value.CompletedDialogues, value.TotalDialogues, "dialogues");

    /// <inheritdoc />
    public void Report(TrainingProgress value) =>
        Update(value.Step, value.TotalSteps, "loss " + value.Loss.ToString("F3", CultureInfo.InvariantCulture));

    /// <summary>Counts one evaluated system (the evaluation does not know its total in advance, so the bar has none).</summary>
    /// <param name="value">The system just scored.</param>
    public void Report(SystemEvaluation value) =>
        Update(Interlocked.Increment(ref _systems), null, $"{value.Name} {value.Mean.ToString("F3", CultureInfo.InvariantCulture)}");

    private void Update(long completed, long? total, string? detail)
    {
        Completed = completed;
        Total = total;
        Detail = detail;
        Reported = true;
        _changed(this);
    }
}
