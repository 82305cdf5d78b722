using Almost.Models.Llama;
using Almost.Rlhf.Training;
using static TorchSharp.torch;

namespace Almost.Rlhf.RewardModeling;

/// <summary>
/// The reward-model loss, in one place. For each pair, with rewards <c>r_c</c> (chosen) and <c>r_r</c> (rejected) read at
/// the last real token and the pair's margin <c>m</c>:
/// <code>loss = −log σ(r_c − r_r − m)  +  λ (r_c + r_r)²</code>
/// The first term is Bradley–Terry (InstructGPT, ALMoST; with a margin as in Llama 2); the second, with
/// λ = the centering coefficient (0 by default; TRL suggests 0.01), pulls the rewards toward mean zero
/// (Eisenstein et al. 2023) without changing which response wins. Metrics: <c>accuracy</c> (r_c &gt; r_r),
/// <c>chosen_reward</c>, <c>rejected_reward</c> and <c>margin</c> (r_c − r_r), each a sum over the pairs.
/// </summary>
public static class BradleyTerryLoss
{
    /// <summary>Metric name: the share of pairs with r_c &gt; r_r.</summary>
    public const string Accuracy = "accuracy";

    /// <summary>Metric name: the mean chosen reward.</summary>
    public const string ChosenReward = "chosen_reward";

    /// <summary>Metric name: the mean rejected reward.</summary>
    public const string RejectedReward = "rejected_reward";

    /// <summary>Metric name: the mean of r_c − r_r.</summary>
    public const string Margin = "margin";

    /// <summary>
    /// Runs the 2B sequences of <paramref name="batch"/> through <paramref name="model"/> in one forward pass and returns
    /// the loss summed over the B pairs (fp32, with its graph) and the metric sums.
    /// </summary>
    /// <param name="model">The reward model.</param>
    /// <param name="batch">The pairs.</param>
    /// <param name="centeringCoefficient">λ of the reward-centering term; 0 for none.</param>
    /// <returns>The summed loss and the metrics.</returns>
    public static ObjectiveOutput Compute(LlamaForSequenceClassification model, RewardModelPairBatch batch, double centeringCoefficient = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var pairs = batch.LossUnits;
        var rewards = model.forward(batch.Sequences.InputIds, batch.Sequences.AttentionMask);   // (2B), fp32
        var chosen = rewards.narrow(0, 0, pairs);                                                // (B)
        var rejected = rewards.narrow(0, pairs, pairs);                                          // (B)
        var difference = chosen - rejected;                                                      // (B)
        var loss = -nn.functional.logsigmoid(difference - batch.Margins).sum();
        if (centeringCoefficient != 0)
        {
            loss = loss + (centeringCoefficient * (chosen + rejected).square().sum());
        }

        using var noGrad = no_grad();
        var metrics = new Dictionary<string, MetricSum>
        {
            [Accuracy] = new(difference.gt(0).to(ScalarType.Float32).sum().MoveToOuterDisposeScope(), pairs),
            [ChosenReward] = new(chosen.detach().sum().MoveToOuterDisposeScope(), pairs),
            [RejectedReward] = new(rejected.detach().sum().MoveToOuterDisposeScope(), pairs),
            [Margin] = new(difference.detach().sum().MoveToOuterDisposeScope(), pairs),
        };
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), metrics);
    }
}
