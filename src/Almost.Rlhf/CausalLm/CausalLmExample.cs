namespace Almost.Rlhf.CausalLm;

/// <summary>
/// One training sequence: token ids and, optionally, which tokens carry loss. The model learns to predict token
/// <c>t</c> from the tokens before it wherever <c>LossMask[t]</c> is true (SFT: the assistant's tokens); without a
/// mask every token after the first carries loss (pretraining).
/// </summary>
/// <param name="InputIds">Token ids; at least 2 (one input, one target).</param>
/// <param name="LossMask">Per token: true = predict this token (loss), false = context only. Same length as <paramref name="InputIds"/>; null = all true.</param>
public sealed record CausalLmExample(int[] InputIds, bool[]? LossMask = null)
{
    /// <summary>Tokens that carry loss: positions 1..n-1 whose mask is true.</summary>
    public int TargetCount
    {
        get
        {
            if (LossMask is null)
            {
                return InputIds.Length - 1;
            }

            var count = 0;
            for (var t = 1; t < InputIds.Length; t++)
            {
                count += LossMask[t] ? 1 : 0;
            }

            return count;
        }
    }
}
