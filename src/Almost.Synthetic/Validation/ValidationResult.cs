using Almost.Synthetic.Comparisons;

namespace Almost.Synthetic.Validation;

/// <summary>What cross-fitted post-validation kept.</summary>
/// <param name="Kept">The comparisons the held-out reward model agreed with, in input order.</param>
/// <param name="Records">One record per input comparison, in input order.</param>
/// <param name="TrainedFolds">Folds whose reward model this run trained (the others were resumed from the output).</param>
public sealed record ValidationResult(IReadOnlyList<SyntheticComparison> Kept, IReadOnlyList<ValidationRecord> Records, int TrainedFolds);
