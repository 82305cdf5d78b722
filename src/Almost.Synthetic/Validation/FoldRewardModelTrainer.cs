using Almost.Scoring;
using Almost.Synthetic.Comparisons;

namespace Almost.Synthetic.Validation;

/// <summary>
/// Trains the reward model of one cross-fitting fold: given the comparisons of the other folds, returns a model that
/// scores the held-out fold. Synthetic never trains reward models itself; the application passes a trainer (e.g. one
/// over Almost.Rlhf's reward-model trainer). A returned model that is <see cref="IDisposable"/> is disposed after it
/// has scored its fold.
/// </summary>
/// <param name="training">The comparisons of every fold but <paramref name="fold"/>.</param>
/// <param name="fold">The held-out fold, 0-based (for seeds and checkpoint folders).</param>
/// <param name="cancellationToken">Stops training.</param>
/// <returns>The trained reward model.</returns>
public delegate Task<IRewardModel> FoldRewardModelTrainer(IReadOnlyList<SyntheticComparison> training, int fold, CancellationToken cancellationToken);
