namespace Almost.Generation;

/// <summary>
/// What the host knows about one (prompt, sample) row of a <see cref="LocalGenerator"/> batch: the tokens accepted so
/// far (EOS excluded), why it finished, and its final text when a stop string cut it.
/// </summary>
internal sealed class DecodingRow
{
    /// <summary>Accepted tokens; token <c>t</c> was sampled at decoding step <c>t</c>.</summary>
    public List<int> Tokens { get; } = [];

    /// <summary>Null while the row is still decoding.</summary>
    public FinishReason? Reason { get; set; }

    /// <summary>The text cut before a stop string; null unless <see cref="Reason"/> is <see cref="FinishReason.Stop"/>.</summary>
    public string? Text { get; set; }
}
