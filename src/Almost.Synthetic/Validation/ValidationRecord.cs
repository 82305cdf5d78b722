namespace Almost.Synthetic.Validation;

/// <summary>One line of a <see cref="CrossFittedValidator"/> output: how the held-out reward model scored a comparison.</summary>
public sealed record ValidationRecord
{
    /// <summary>The comparison's <see cref="Comparisons.SyntheticComparison.Id"/>.</summary>
    public required string Id { get; init; }

    /// <summary>The fold it was held out in; its reward model was trained on the other folds only.</summary>
    public required int Fold { get; init; }

    /// <summary>Reward of prompt + chosen.</summary>
    public required double ChosenReward { get; init; }

    /// <summary>Reward of prompt + rejected.</summary>
    public required double RejectedReward { get; init; }

    /// <summary>Whether the comparison passed (reward margin above <see cref="CrossFitOptions.Margin"/>).</summary>
    public required bool Kept { get; init; }
}
