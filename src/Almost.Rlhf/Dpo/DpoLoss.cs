using Almost.Rlhf.Training;
using static TorchSharp.torch;

namespace Almost.Rlhf.Dpo;

/// <summary>The DPO-family losses in one place: the loss of a batch of pairs plus the metrics the trainer logs.</summary>
public static class DpoLoss
{
    /// <summary>
    /// The summed loss over the pairs of a batch and its metrics: <c>reward_accuracy</c> (implicit reward of chosen &gt;
    /// rejected), <c>chosen_reward</c> / <c>rejected_reward</c> (β·(log π − log π_ref), summed log-probs), <c>margin</c>
    /// (their difference) and <c>chosen_logp</c> (summed log π of the chosen completion).
    /// </summary>
    /// <param name="policyChosen">(B) log π of each chosen completion, summed over its tokens (with a graph).</param>
    /// <param name="policyRejected">(B) likewise for the rejected completion.</param>
    /// <param name="referenceChosen">(B) log π_ref of the chosen completion.</param>
    /// <param name="referenceRejected">(B) log π_ref of the rejected completion.</param>
    /// <param name="chosenTokens">(B) completion tokens of each chosen completion (for averaged log-probs).</param>
    /// <param name="rejectedTokens">(B) likewise for the rejected one.</param>
    /// <param name="beta">β.</param>
    /// <param name="type">The loss.</param>
    /// <param name="labelSmoothing">ε for <see cref="DpoLossType.Sigmoid"/> and <see cref="DpoLossType.LengthNormalized"/>.</param>
    /// <returns>The summed loss (divide by the pairs) and the metrics, each summed over the pairs.</returns>
    public static ObjectiveOutput Compute(
        Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected,
        Tensor chosenTokens, Tensor rejectedTokens, double beta, DpoLossType type, double labelSmoothing = 0)
    {
        ArgumentNullException.ThrowIfNull(policyChosen);
        ArgumentNullException.ThrowIfNull(policyRejected);
        ArgumentNullException.ThrowIfNull(referenceChosen);
        ArgumentNullException.ThrowIfNull(referenceRejected);
        ArgumentNullException.ThrowIfNull(chosenTokens);
        ArgumentNullException.ThrowIfNull(rejectedTokens);
        long pairs = policyChosen.shape[0];
        var chosenLogRatio = policyChosen - referenceChosen;                          // summed log π − log π_ref
        var rejectedLogRatio = policyRejected - referenceRejected;
        Tensor losses;
        switch (type)
        {
            case DpoLossType.Sigmoid:
                losses = Smoothed(beta * (chosenLogRatio - rejectedLogRatio), labelSmoothing);
                break;
            case DpoLossType.LengthNormalized:
                losses = Smoothed(beta * ((chosenLogRatio / chosenTokens.clamp_min(1)) - (rejectedLogRatio / rejectedTokens.clamp_min(1))), labelSmoothing);
                break;
            case DpoLossType.Ipo:
                var h = (chosenLogRatio / chosenTokens.clamp_min(1)) - (rejectedLogRatio / rejectedTokens.clamp_min(1));
                losses = (h - (1 / (2 * beta))).square();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown DPO loss.");
        }

        var chosenReward = (beta * chosenLogRatio).detach();
        var rejectedReward = (beta * rejectedLogRatio).detach();
        return new ObjectiveOutput(losses.sum(), new Dictionary<string, MetricSum>
        {
            ["reward_accuracy"] = new(chosenReward.gt(rejectedReward).to(ScalarType.Float32).sum(), pairs),
            ["chosen_reward"] = new(chosenReward.sum(), pairs),
            ["rejected_reward"] = new(rejectedReward.sum(), pairs),
            ["margin"] = new((chosenReward - rejectedReward).sum(), pairs),
            ["chosen_logp"] = new(policyChosen.detach().sum(), pairs),
        });
    }

    private static Tensor Smoothed(Tensor logits, double epsilon) =>
        epsilon == 0
            ? -nn.functional.logsigmoid(logits)
            : (-(1 - epsilon) * nn.functional.logsigmoid(logits)) - (epsilon * nn.functional.logsigmoid(-logits));
}
