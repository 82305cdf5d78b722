namespace Almost.Scoring;

/// <summary>
/// Decides which of two responses to the same prompt is better: a reward model (<see cref="RewardModelJudge"/>), an
/// LLM judge, or a testbed's hidden oracle (TinyWorld). The synthetic-feedback audit and the pairwise win-rate
/// evaluation program against this interface, so any judge can check any stage.
/// </summary>
public interface IPreferenceJudge
{
    /// <summary>Judges every question.</summary>
    /// <param name="questions">The pairs to judge.</param>
    /// <param name="cancellationToken">Stops the work between batches / requests.</param>
    /// <returns>One verdict per question, in order.</returns>
    Task<IReadOnlyList<PreferenceVerdict>> JudgeAsync(IReadOnlyList<PreferenceQuestion> questions, CancellationToken cancellationToken = default);
}
