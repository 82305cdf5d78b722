using Almost.Synthetic.Queries;

namespace Almost.Synthetic.Prompts;

/// <summary>Every configuration's response to one query: the input of pairing.</summary>
/// <param name="Query">The query.</param>
/// <param name="Prompt">The comparison context (<see cref="PromptTemplate.ComparisonPrompt"/>): what a reward model or judge sees before each response.</param>
/// <param name="Responses">One response per configuration that answered, in configuration order.</param>
public sealed record QueryResponses(SyntheticQuery Query, string Prompt, IReadOnlyList<ConfigurationResponse> Responses);
