using static TorchSharp.torch;

namespace Almost.Rlhf.Ppo;

/// <summary>
/// One rollout, ready for PPO updates: the sequences (left-padded prompts followed by right-padded responses), and per
/// response token the rollout-time log-probabilities, reference log-probabilities, values, advantages and returns.
/// Built under no-grad by <see cref="PpoTrainer"/>; the update epochs read minibatches of it with <see cref="Select"/>.
/// </summary>
public sealed class PpoExperience : IDisposable
{
    /// <summary>(B, P + R) token ids.</summary>
    public required Tensor InputIds { get; init; }

    /// <summary>(B, P + R) 1 on real tokens.</summary>
    public required Tensor AttentionMask { get; init; }

    /// <summary>(B, P + R) explicit positions: the count of real tokens before each one, so left padding shifts nothing.</summary>
    public required Tensor PositionIds { get; init; }

    /// <summary>P: the padded prompt length; response token t sits at position P + t.</summary>
    public required long PromptLength { get; init; }

    /// <summary>(B, R) 1 on response tokens (contiguous from 0), 0 on padding.</summary>
    public required Tensor ResponseMask { get; init; }

    /// <summary>(B, R) log π_old of the response tokens (eval-mode forward, logits / temperature).</summary>
    public required Tensor OldLogProbs { get; init; }

    /// <summary>(B, R) log π_ref of the response tokens.</summary>
    public required Tensor ReferenceLogProbs { get; init; }

    /// <summary>(B, R) the critic's values at rollout time; null without a critic.</summary>
    public Tensor? Values { get; init; }

    /// <summary>(B, R) advantages (whitened when configured).</summary>
    public required Tensor Advantages { get; init; }

    /// <summary>(B, R) value targets; null without a critic.</summary>
    public Tensor? Returns { get; init; }

    /// <summary>Rows in the rollout.</summary>
    public long Count => InputIds.shape[0];

    /// <summary>The rows at <paramref name="rows"/>, as a new experience (its tensors in the caller's dispose scope).</summary>
    /// <param name="rows">(M) int64 row indices.</param>
    /// <returns>The minibatch.</returns>
    public PpoExperience Select(Tensor rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new PpoExperience
        {
            InputIds = InputIds.index_select(0, rows),
            AttentionMask = AttentionMask.index_select(0, rows),
            PositionIds = PositionIds.index_select(0, rows),
            PromptLength = PromptLength,
            ResponseMask = ResponseMask.index_select(0, rows),
            OldLogProbs = OldLogProbs.index_select(0, rows),
            ReferenceLogProbs = ReferenceLogProbs.index_select(0, rows),
            Values = Values?.index_select(0, rows),
            Advantages = Advantages.index_select(0, rows),
            Returns = Returns?.index_select(0, rows),
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in new[] { InputIds, AttentionMask, PositionIds, ResponseMask, OldLogProbs, ReferenceLogProbs, Values, Advantages, Returns })
        {
            t?.Dispose();
        }
    }
}
