using static TorchSharp.torch;

namespace Almost.Models.Llama;

/// <summary>The result of a causal-LM forward. Disposing it disposes both tensors.</summary>
/// <param name="Logits">Next-token logits, fp32, (B, T, V) or (B, 1, V) when only the last position was asked for.</param>
/// <param name="HiddenStates">Final normed hidden states (B, T, C) in the model's dtype.</param>
public sealed record CausalLmOutput(Tensor Logits, Tensor HiddenStates) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        HiddenStates.Dispose();
    }
}
