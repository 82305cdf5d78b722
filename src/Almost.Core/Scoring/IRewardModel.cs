namespace Almost.Scoring;

/// <summary>
/// A reward model: a scalar score per (prompt, response), higher = better. Synthetic-feedback post-validation,
/// reward-model-guided self-play, best-of-N selection and PPO program against this interface; the Core
/// sequence-score model implements it, and so can a remote scorer or a test double.
/// </summary>
public interface IRewardModel
{
    /// <summary>Scores every input, batching internally as the implementation sees fit.</summary>
    /// <param name="inputs">The texts to score.</param>
    /// <param name="cancellationToken">Stops the work between batches.</param>
    /// <returns>One score per input, in input order. Scores of one input do not depend on the others in the list.</returns>
    Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default);
}
