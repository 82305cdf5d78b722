using Almost.Generation;

namespace Almost.Synthetic.Queries;

/// <summary>Settings of a <see cref="QueryGenerator"/> run. Defaults follow the ALMoST reference and Self-Instruct.</summary>
public sealed record QueryGenerationOptions
{
    /// <summary>Stop once this many queries are accepted (the round in progress is finished, so a run may end slightly above). Default 100.</summary>
    public int TargetCount { get; init; } = 100;

    /// <summary>Example queries per prompt, sampled without replacement from the seeds plus the accepted queries. Default 10 (the reference).</summary>
    public int ExamplesPerPrompt { get; init; } = 10;

    /// <summary>Prompts per round (one generator call), each with its own examples. Default 16.</summary>
    public int PromptsPerRound { get; init; } = 16;

    /// <summary>Give up after this many rounds even below <see cref="TargetCount"/> (a model that keeps repeating itself). Default 200.</summary>
    public int MaxRounds { get; init; } = 200;

    /// <summary>
    /// Sampling: temperature 1.2 and top-p 0.9 (the reference), at most 64 new tokens, one sample per prompt, seed 0.
    /// The format's stop strings are added to <see cref="GenerationOptions.StopStrings"/>. The seed is the run's seed: round
    /// <c>r</c> samples its examples and its queries from seeds derived from it and <c>r</c>.
    /// </summary>
    public GenerationOptions Generation { get; init; } = new() { Temperature = 1.2, TopP = 0.9, MaxNewTokens = 64 };

    /// <summary>How the prompt is laid out. Default <see cref="QueryPromptFormat.NumberedList"/> with the reference's instruction.</summary>
    public QueryPromptFormat Format { get; init; } = QueryPromptFormat.NumberedList();

    /// <summary>A candidate with fewer words fails as <see cref="QueryRejection.TooShort"/>. Default 3 (Self-Instruct).</summary>
    public int MinWords { get; init; } = 3;

    /// <summary>A candidate with more words fails as <see cref="QueryRejection.TooLong"/>. Default 150 (Self-Instruct).</summary>
    public int MaxWords { get; init; } = 150;

    /// <summary>
    /// A second contamination check, run after the n-gram one on candidates it let through: returns the evaluation prompt
    /// a query asks in other words, or null. N-gram overlap misses paraphrases and reordered operands; plug in what
    /// catches them for your benchmark (an embedding-similarity or LLM-judge check; TinyWorld matches task contents).
    /// A hit rejects the candidate as <see cref="QueryRejection.Paraphrase"/>. Default null (n-grams only).
    /// </summary>
    public Func<string, string?>? ParaphraseCheck { get; init; }

    /// <summary>A candidate whose ROUGE-L F1 against any seed or accepted query is at least this fails as <see cref="QueryRejection.Similar"/>. Default 0.5 (the reference).</summary>
    public double MaxRougeL { get; init; } = 0.5;
}
