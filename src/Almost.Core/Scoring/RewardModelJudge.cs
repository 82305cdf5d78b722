using System.Globalization;

namespace Almost.Scoring;

/// <summary>
/// An <see cref="IPreferenceJudge"/> over an <see cref="IRewardModel"/>: the response with the higher reward wins,
/// and rewards closer than <see cref="TieMargin"/> are a tie. Both responses of every question are scored in one
/// <see cref="IRewardModel.ScoreAsync"/> call.
/// </summary>
public sealed class RewardModelJudge : IPreferenceJudge
{
    private readonly IRewardModel _rewardModel;

    /// <summary>Creates the judge.</summary>
    /// <param name="rewardModel">The scorer.</param>
    /// <param name="tieMargin">Reward differences with an absolute value below this are ties; default 0 (only equal rewards tie).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tieMargin"/> is negative or not finite.</exception>
    public RewardModelJudge(IRewardModel rewardModel, double tieMargin = 0)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        if (!(tieMargin >= 0) || !double.IsFinite(tieMargin))
        {
            throw new ArgumentOutOfRangeException(nameof(tieMargin), tieMargin, "Expected a finite margin >= 0.");
        }

        _rewardModel = rewardModel;
        TieMargin = tieMargin;
    }

    /// <summary>Reward differences below this are ties.</summary>
    public double TieMargin { get; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PreferenceVerdict>> JudgeAsync(
        IReadOnlyList<PreferenceQuestion> questions,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(questions);
        var inputs = new RewardModelInput[questions.Count * 2];
        for (int i = 0; i < questions.Count; i++)
        {
            inputs[2 * i] = new RewardModelInput(questions[i].Prompt, questions[i].ResponseA);
            inputs[(2 * i) + 1] = new RewardModelInput(questions[i].Prompt, questions[i].ResponseB);
        }

        var scores = await _rewardModel.ScoreAsync(inputs, cancellationToken).ConfigureAwait(false);
        if (scores.Count != inputs.Length)
        {
            throw new InvalidOperationException(
                $"The reward model returned {scores.Count} scores for {inputs.Length} inputs; expected one per input.");
        }

        var verdicts = new PreferenceVerdict[questions.Count];
        for (int i = 0; i < questions.Count; i++)
        {
            double a = scores[2 * i], b = scores[(2 * i) + 1], margin = a - b;
            var preferred = margin == 0 || Math.Abs(margin) < TieMargin
                ? PreferredResponse.Tie
                : margin > 0 ? PreferredResponse.A : PreferredResponse.B;
            verdicts[i] = new PreferenceVerdict(
                preferred,
                string.Create(CultureInfo.InvariantCulture, $"reward A {a:F4}, B {b:F4}"),
                margin);
        }

        return verdicts;
    }
}
