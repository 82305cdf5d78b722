using System.Collections;
using System.Text.Json;
using Almost.Data;
using Almost.Scoring;

namespace Almost.Rlhf.RewardModeling;

/// <summary>
/// Encoded comparisons for the reward-model trainer: each <see cref="PreferenceRecord"/> becomes a
/// <see cref="RewardModelPair"/> by <see cref="RewardSequenceEncoder"/> (the convention <see cref="RewardModel"/> scores
/// with), so training and scoring read the same token. Sequences longer than the encoder's maximum lose prompt tokens
/// from the left; the end of the response is never cut.
/// </summary>
public sealed class RewardModelDataset : IReadOnlyList<RewardModelPair>
{
    /// <summary>The optional per-pair field holding the margin (TRL's reward-trainer convention): a number.</summary>
    public const string MarginField = "margin";

    private readonly RewardModelPair[] _pairs;

    private RewardModelDataset(RewardModelPair[] pairs, int truncatedPairs)
    {
        _pairs = pairs;
        TruncatedPairs = truncatedPairs;
        foreach (var pair in pairs)
        {
            TokenCount += pair.Chosen.Length + pair.Rejected.Length;
            MaxLength = Math.Max(MaxLength, Math.Max(pair.Chosen.Length, pair.Rejected.Length));
        }
    }

    /// <summary>Pairs in which at least one side was cut to the encoder's maximum length.</summary>
    public int TruncatedPairs { get; }

    /// <summary>Tokens in all sequences.</summary>
    public long TokenCount { get; }

    /// <summary>Length of the longest sequence.</summary>
    public int MaxLength { get; }

    /// <inheritdoc />
    public int Count => _pairs.Length;

    /// <inheritdoc />
    public RewardModelPair this[int index] => _pairs[index];

    /// <summary>Encodes <paramref name="records"/> with <paramref name="encoder"/>.</summary>
    /// <param name="records">The comparisons; a numeric <c>margin</c> field, when present, becomes <see cref="RewardModelPair.Margin"/>.</param>
    /// <param name="encoder">The sequence convention of the reward model.</param>
    /// <param name="what">Names the set in error messages (<c>training</c>, <c>evaluation</c>).</param>
    /// <returns>The dataset, in record order.</returns>
    /// <exception cref="ArgumentException">A record is null, a side encodes to nothing, or <c>margin</c> is not a finite number (the message names the record).</exception>
    public static RewardModelDataset Encode(IReadOnlyList<PreferenceRecord> records, RewardSequenceEncoder encoder, string what = "training")
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(encoder);
        var pairs = new RewardModelPair[records.Count];
        var truncated = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"Record {i} of the {what} set is null.", nameof(records));
            try
            {
                var chosen = encoder.Encode(record.Prompt, record.Chosen, out var cutChosen);
                var rejected = encoder.Encode(record.Prompt, record.Rejected, out var cutRejected);
                truncated += cutChosen > 0 || cutRejected > 0 ? 1 : 0;
                pairs[i] = new RewardModelPair(chosen, rejected, MarginOf(record));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Record {i} of the {what} set: {e.Message}", nameof(records), e);
            }
        }

        return new RewardModelDataset(pairs, truncated);
    }

    /// <inheritdoc />
    public IEnumerator<RewardModelPair> GetEnumerator() => ((IEnumerable<RewardModelPair>)_pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static double MarginOf(PreferenceRecord record)
    {
        if (record.Extra is null || !record.Extra.TryGetValue(MarginField, out var value))
        {
            return 0;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var margin) && double.IsFinite(margin)
            ? margin
            : throw new ArgumentException($"field '{MarginField}' is {value.GetRawText()}; expected a finite number.");
    }
}
