using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// Builds TorchSharp's <see cref="AdamW"/> for a model with two parameter groups, as Hugging Face does: weight matrices
/// and embeddings are decayed; biases and norm weights (any parameter whose name contains <c>norm</c>) are not, since
/// decaying a gain toward zero or a bias toward zero only hurts.
/// </summary>
internal static class AdamWOptimizer
{
    /// <summary>Whether <see cref="TrainingOptions.WeightDecay"/> applies to the parameter named <paramref name="name"/>.</summary>
    /// <param name="name">A state-dict name such as <c>model.layers.0.input_layernorm.weight</c>.</param>
    /// <returns>False for biases and norm weights; true otherwise.</returns>
    public static bool IsDecayed(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return !name.EndsWith(".bias", StringComparison.Ordinal)
               && !name.Equals("bias", StringComparison.Ordinal)
               && !name.Contains("norm", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// AdamW over the trainable parameters of <paramref name="model"/>: group 0 = decayed (<see cref="IsDecayed"/>),
    /// group 1 = not decayed (weight decay 0). The learning rate is set per step by the training loop.
    /// </summary>
    /// <param name="model">The model; parameters with <c>requires_grad = false</c> are left out.</param>
    /// <param name="options">Learning rate, betas, ε and weight decay.</param>
    /// <returns>The optimizer; dispose it when done.</returns>
    public static AdamW Create(nn.Module model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var decayed = trainable.Where(p => IsDecayed(p.name)).Select(p => p.parameter).ToList();
        var notDecayed = trainable.Where(p => !IsDecayed(p.name)).Select(p => p.parameter).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decayed, lr: options.LearningRate, beta1: options.AdamBeta1, beta2: options.AdamBeta2, eps: options.AdamEpsilon, weight_decay: options.WeightDecay),
            new(notDecayed, lr: options.LearningRate, beta1: options.AdamBeta1, beta2: options.AdamBeta2, eps: options.AdamEpsilon, weight_decay: 0),
        };
        return optim.AdamW(groups, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
    }
}
