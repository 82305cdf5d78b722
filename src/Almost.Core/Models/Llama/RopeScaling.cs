namespace Almost.Models.Llama;

/// <summary>How rotary position frequencies are rescaled for longer contexts (<c>rope_scaling</c> in config.json).</summary>
public enum RopeScalingType
{
    /// <summary>No scaling (<c>rope_scaling: null</c> or <c>"default"</c>).</summary>
    None,
    /// <summary>Position interpolation: every frequency divided by <see cref="RopeScaling.Factor"/>.</summary>
    Linear,
    /// <summary>Llama 3.1's frequency-dependent scaling (low frequencies divided by the factor, high kept, smooth between).</summary>
    Llama3,
}

/// <summary>The <c>rope_scaling</c> block of a Hugging Face config.</summary>
/// <param name="Type">Which scaling.</param>
/// <param name="Factor">Context extension factor.</param>
/// <param name="LowFreqFactor">Llama 3: wavelengths longer than original/low_freq_factor are fully scaled. Default 1.</param>
/// <param name="HighFreqFactor">Llama 3: wavelengths shorter than original/high_freq_factor are kept. Default 4.</param>
/// <param name="OriginalMaxPositionEmbeddings">Llama 3: the context length the model was pretrained with. Default 8192.</param>
public sealed record RopeScaling(
    RopeScalingType Type,
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192);
