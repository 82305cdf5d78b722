using Almost.Generation;

namespace Almost.Synthetic.Prompts;

/// <summary>
/// One way of prompting a vanilla model for synthetic responses, the unit the ranking rubric orders: a generator (a
/// local model or an OpenAI-compatible server such as vLLM), a demonstration set and a number of shots, sampling
/// settings and a template. The paper's configurations are e.g. "30B, faithful prompt, 3 shots" and "7B, HHH, 2 shots".
/// </summary>
public sealed record PromptConfiguration
{
    /// <summary>Unique name, used by the rubric and in every record (e.g. <c>"base-careful-5"</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The model: <see cref="LocalGenerator"/>, <see cref="Generation.OpenAi.OpenAiCompatibleGenerator"/>, or any other.</summary>
    public required ITextGenerator Generator { get; init; }

    /// <summary>The demonstration dialogues, or null for a 0-shot configuration.</summary>
    public DemonstrationDialogues? Demonstrations { get; init; }

    /// <summary>How many dialogues of <see cref="Demonstrations"/> the prompt shows. Default 0.</summary>
    public int Shots { get; init; }

    /// <summary>
    /// Sampling settings. Default temperature 0.7, at most 128 new tokens, one sample, seed 0; the template's stop strings
    /// are always added. The seed is the configuration's base seed (see <see cref="ResponseGenerationJob"/>).
    /// </summary>
    public GenerationOptions Sampling { get; init; } = new() { Temperature = 0.7, MaxNewTokens = 128 };

    /// <summary>The prompt layout. Default <see cref="PromptTemplate.Transcript"/>.</summary>
    public PromptTemplate Template { get; init; } = PromptTemplate.Transcript;

    /// <summary>
    /// The model's size on any scale where larger is better (parameters, billions of parameters), for a rubric derived
    /// by <see cref="Ranking.RankingRubric.Derive"/>; null when not declared.
    /// </summary>
    public double? ModelSize { get; init; }

    /// <summary>The demonstrations' quality on any scale where higher is better, for a derived rubric; null when not declared.</summary>
    public double? DemonstrationQuality { get; init; }

    /// <summary>The prompt for a query.</summary>
    /// <param name="query">The user's query.</param>
    /// <returns>The text the generator continues.</returns>
    public string BuildPrompt(string query) => Template.Build(Demonstrations, Shots, query);
}
