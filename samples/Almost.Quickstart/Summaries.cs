using Almost.Synthetic.Queries;

namespace Almost.Quickstart;

/// <summary>What the report keeps of stage summaries (JSON-friendly).</summary>
internal static class Summaries
{
    /// <summary>Query generation counts.</summary>
    public static QueryCounts Of(QueryGenerationSummary s) => new(s.Candidates, s.Accepted, s.Decontaminated, s.Rejected.ToDictionary(r => r.Key, r => r.Value));
}

/// <summary>Query generation counts for the report.</summary>
internal sealed record QueryCounts(int Generated, int Accepted, int Decontaminated, Dictionary<string, int> RejectedByReason);
