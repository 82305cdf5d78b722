namespace Almost.Generation;

/// <summary>Sampling settings for <see cref="ITextGenerator"/>. Defaults follow common vanilla-LM sampling.</summary>
public sealed record GenerationOptions
{
    /// <summary>Maximum number of tokens to generate per sample. Default 128.</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Softmax temperature; 0 means greedy (argmax) decoding. Default 1.0.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens before sampling; 0 disables. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability sums to at least p; 1 disables. Default 1.0.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Generation of a sample stops when its text contains one of these; the returned text is cut before it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Seed for sampling; the same seed, prompts, batch and device give the same samples. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Number of independent samples per prompt. Default 1.</summary>
    public int SamplesPerPrompt { get; init; } = 1;

    /// <summary>
    /// Return per-token log-probabilities of the generated tokens under the model's own distribution (log-softmax of
    /// the raw logits, before temperature, top-k and top-p). Default false.
    /// </summary>
    public bool ReturnLogProbs { get; init; }
}
