using Almost.Scoring;

namespace Almost.Evaluation;

/// <summary>
/// Win rate of one system's responses over another's on the same prompts, judged by any <see cref="IPreferenceJudge"/>
/// (TinyWorld's oracle, a reward model through <see cref="RewardModelJudge"/>, or an LLM judge such as
/// <see cref="LlmPreferenceJudge"/>).
/// </summary>
public static class WinRateEvaluation
{
    /// <summary>Judges A's response against B's for every prompt and counts the outcomes.</summary>
    /// <param name="judge">The judge.</param>
    /// <param name="prompts">The prompts (the context both responses answer, as in <see cref="PreferenceQuestion.Prompt"/>).</param>
    /// <param name="responsesA">System A's response to each prompt.</param>
    /// <param name="responsesB">System B's response to each prompt.</param>
    /// <param name="cancellationToken">Passed to the judge.</param>
    /// <returns>A's wins, losses and ties against B.</returns>
    /// <exception cref="ArgumentException">The three lists differ in length, or are empty.</exception>
    public static async Task<WinRate> CompareAsync(
        IPreferenceJudge judge,
        IReadOnlyList<string> prompts,
        IReadOnlyList<string> responsesA,
        IReadOnlyList<string> responsesB,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(responsesA);
        ArgumentNullException.ThrowIfNull(responsesB);
        if (prompts.Count != responsesA.Count || prompts.Count != responsesB.Count)
        {
            throw new ArgumentException(
                $"Expected one response of each system per prompt: {prompts.Count} prompts, {responsesA.Count} responses of A, {responsesB.Count} of B.");
        }

        if (prompts.Count == 0)
        {
            throw new ArgumentException("No prompts: there is nothing to compare.", nameof(prompts));
        }

        var questions = prompts.Select((p, i) => new PreferenceQuestion(p, responsesA[i], responsesB[i])).ToArray();
        var verdicts = await judge.JudgeAsync(questions, cancellationToken).ConfigureAwait(false);
        if (verdicts.Count != questions.Length)
        {
            throw new InvalidOperationException($"The judge returned {verdicts.Count} verdicts for {questions.Length} questions.");
        }

        return Count(verdicts);
    }

    /// <summary>Counts A-wins, B-wins and ties in <paramref name="verdicts"/>.</summary>
    /// <param name="verdicts">Verdicts with A = the system under test.</param>
    /// <returns>The counts.</returns>
    public static WinRate Count(IEnumerable<PreferenceVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        int wins = 0, losses = 0, ties = 0;
        foreach (var v in verdicts)
        {
            switch (v.Preferred)
            {
                case PreferredResponse.A: wins++; break;
                case PreferredResponse.B: losses++; break;
                default: ties++; break;
            }
        }

        return new WinRate(wins, losses, ties);
    }
}
