using Almost.Scoring;

namespace Almost.Synthetic.Filters;

/// <summary>
/// Several <see cref="IResponseFilter"/>s applied in order, reporting the reasons of all of them: how extra filters
/// (a toxicity classifier, a language check, a reward-model threshold) plug in after the heuristic one. An empty
/// chain passes everything.
/// </summary>
public sealed class ResponseFilterChain : IResponseFilter
{
    private readonly IResponseFilter[] _filters;

    /// <summary>Creates the chain.</summary>
    /// <param name="filters">The filters, applied in order.</param>
    public ResponseFilterChain(params IEnumerable<IResponseFilter> filters)
    {
        ArgumentNullException.ThrowIfNull(filters);
        _filters = filters.ToArray();
        if (Array.IndexOf(_filters, null) >= 0)
        {
            throw new ArgumentException("A filter of the chain is null.", nameof(filters));
        }
    }

    /// <summary>A chain without filters: every response passes (the "raw" comparisons of an audit).</summary>
    public static ResponseFilterChain PassAll { get; } = new();

    /// <summary>The filters, in order.</summary>
    public IReadOnlyList<IResponseFilter> Filters => _filters;

    /// <inheritdoc />
    public IReadOnlyList<string> Check(string query, string response)
    {
        if (_filters.Length == 1)
        {
            return _filters[0].Check(query, response);
        }

        var reasons = new List<string>();
        foreach (var filter in _filters)
        {
            foreach (string reason in filter.Check(query, response))
            {
                if (!reasons.Contains(reason))
                {
                    reasons.Add(reason);
                }
            }
        }

        return reasons;
    }
}
