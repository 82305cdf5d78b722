using Almost.Models.Llama;
using static TorchSharp.torch;

namespace Almost.Rlhf.CausalLm;

/// <summary>The causal-LM loss: token cross-entropy in fp32, shifted by one, over targets with loss.</summary>
public static class CausalLmLoss
{
    /// <summary>
    /// The cross-entropy of every target in <paramref name="batch"/> (token <c>t+1</c> given tokens <c>0..t</c>), summed
    /// over the targets that are real and in the loss mask (<see cref="CausalLmBatch.LossUnits"/> of them). Divide by
    /// the units to get the mean. A 0-d fp32 tensor on the model's device, with a graph when gradients are on.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="batch">The batch.</param>
    /// <returns>The summed loss.</returns>
    public static Tensor Sum(LlamaForCausalLM model, CausalLmBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var t = batch.InputIds.shape[1];
        var hidden = model.HiddenStates(batch.InputIds, batch.AttentionMask);                // (B, T, C)
        var logits = model.Project(hidden.narrow(1, 0, t - 1));                             // (B, T-1, V) fp32
        var loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[^1]),                                           // (B·(T-1), V)
            batch.Targets.reshape(-1),                                                      // (B·(T-1))
            ignore_index: CausalLmBatch.IgnoreIndex,
            reduction: nn.Reduction.Sum);
        return loss.MoveToOuterDisposeScope();
    }
}
