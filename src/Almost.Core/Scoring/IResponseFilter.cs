namespace Almost.Scoring;

/// <summary>
/// A heuristic that decides whether a generated response is fit to become one side of a synthetic comparison: it
/// passes, or it fails for one or more named reasons. The synthetic-feedback pairing drops failed responses before it
/// pairs a query's responses; the ALMoST reference's rules (too short, ends with a question, "don't know", ...) are one
/// implementation, and any number of extra filters can be chained after it.
/// </summary>
public interface IResponseFilter
{
    /// <summary>Checks one response.</summary>
    /// <param name="query">The user query the response answers (bare text, without the transcript markup).</param>
    /// <param name="response">The response as generated (implementations decide whether surrounding spaces matter).</param>
    /// <returns>Every reason the response fails, as short stable names (e.g. <c>"too-short"</c>); empty when it passes.</returns>
    IReadOnlyList<string> Check(string query, string response);
}
