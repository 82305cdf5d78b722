using Almost.Models.Llama;

namespace Almost.Models.Lora;

/// <summary>
/// Options of a <see cref="LoraAdapter"/> (the fields of PEFT's <c>LoraConfig</c> that apply): low-rank updates
/// <c>W + (alpha / r) · B · A</c> of the named projections of every decoder layer, the base weights frozen.
/// </summary>
public sealed record LoraOptions
{
    /// <summary>Every linear projection of a LLaMA decoder layer (PEFT's <c>"all-linear"</c> for this architecture).</summary>
    public static IReadOnlyList<string> AllLinear { get; } = [.. LlamaAttention.ProjectionNames, .. LlamaMlp.ProjectionNames];

    /// <summary>Rank <c>r</c> of each update (rows of <c>A</c>, columns of <c>B</c>). Default 8.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Scale numerator: the update is multiplied by <c>Alpha / Rank</c> (PEFT's <c>lora_alpha</c>). Default 16.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>
    /// The projections adapted in every layer, by their Hugging Face names (a subset of <see cref="AllLinear"/>).
    /// Default <see cref="AllLinear"/>.
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = AllLinear;

    /// <summary>The factor the update is multiplied by: <c>Alpha / Rank</c>.</summary>
    public double Scale => Alpha / Rank;

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names the field.</exception>
    public void Validate()
    {
        if (Rank < 1)
        {
            throw new ArgumentException($"LoraOptions.Rank must be >= 1 (was {Rank}).");
        }

        if (!(Alpha > 0) || double.IsInfinity(Alpha))
        {
            throw new ArgumentException($"LoraOptions.Alpha must be a positive finite number (was {Alpha}).");
        }

        if (TargetModules is null || TargetModules.Count == 0)
        {
            throw new ArgumentException("LoraOptions.TargetModules must name at least one projection.");
        }

        foreach (var name in TargetModules)
        {
            if (!AllLinear.Contains(name))
            {
                throw new ArgumentException(
                    $"LoraOptions.TargetModules: unknown projection '{name}'; expected some of {string.Join(", ", AllLinear)}.");
            }
        }

        if (TargetModules.Distinct().Count() != TargetModules.Count)
        {
            throw new ArgumentException("LoraOptions.TargetModules names a projection twice.");
        }
    }
}
