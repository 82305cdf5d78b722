namespace Almost.Synthetic.Validation;

/// <summary>Settings of <see cref="CrossFittedValidator"/>.</summary>
public sealed record CrossFitOptions
{
    /// <summary>
    /// Folds K ≥ 2: K reward models are trained, each on (K−1)/K of the comparisons. Default 2: the cheapest split
    /// where no comparison is validated by a model that saw it; more folds give each model more data at K trainings' cost.
    /// </summary>
    public int Folds { get; init; } = 2;

    /// <summary>A comparison is kept when reward(chosen) − reward(rejected) is greater than this. Default 0 (the model must agree, ties drop).</summary>
    public double Margin { get; init; }

    /// <summary>Seed of the assignment of queries to folds. Default 0.</summary>
    public long Seed { get; init; }
}
