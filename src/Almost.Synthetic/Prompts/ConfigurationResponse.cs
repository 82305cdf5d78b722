using Almost.Generation;

namespace Almost.Synthetic.Prompts;

/// <summary>One prompt configuration's response to a query.</summary>
/// <param name="Configuration">The configuration's <see cref="PromptConfiguration.Name"/>.</param>
/// <param name="Text">The reply, cut at the next turn (<see cref="PromptTemplate.CutReply"/>); a leading space is kept as generated.</param>
/// <param name="FinishReason">Why generation stopped.</param>
public sealed record ConfigurationResponse(string Configuration, string Text, FinishReason FinishReason);
