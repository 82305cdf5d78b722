using Almost.Data;

namespace Almost.Scoring;

/// <summary>One pair of the Static HHH alignment set, split into the shared context and the two final assistant turns.</summary>
/// <param name="Category">helpful, harmless, honest or other (the file's <c>type</c>).</param>
/// <param name="Prompt">The transcript up to and including the last <c>"\n\nAssistant:"</c>, shared by both sides.</param>
/// <param name="Chosen">The better final assistant turn (starts with a space, as in the transcript format).</param>
/// <param name="Rejected">The worse final assistant turn.</param>
public sealed record StaticHhhPair(string Category, string Prompt, string Chosen, string Rejected)
{
    /// <summary>The pair as a TRL preference record.</summary>
    /// <returns>The record.</returns>
    public PreferenceRecord ToPreferenceRecord() => new() { Prompt = Prompt, Chosen = Chosen, Rejected = Rejected };
}
