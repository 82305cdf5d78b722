using Almost.Data;
using Almost.Devices;
using Almost.Scoring;
using Almost.Synthetic.Comparisons;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Synthetic.Audit;

/// <summary>
/// Checks synthetic labels against an <see cref="IPreferenceJudge"/> (TinyWorld's oracle, an LLM judge, a reward model):
/// each comparison is put to the judge, and the report gives the share of the judge's decisive pairs in which it
/// prefers the chosen response, with a 95 % Wilson interval, and the share of ties, overall and per configuration pair.
/// Run it on each stage (raw, after the filter, after post-validation) to see what each step buys.
/// </summary>
/// <remarks>
/// Judges with a position bias (LLM judges) see the chosen response first in about half the questions: the order is a
/// function of the comparison id, so it is the same in every stage and run. Verdicts are appended to a JSONL file in
/// batches of <see cref="BatchSize"/>; rerunning after a crash or cancellation asks the judge only about the rest.
/// </remarks>
public sealed class FeedbackAudit
{
    private readonly IPreferenceJudge _judge;

    /// <summary>Creates the audit.</summary>
    /// <param name="judge">The judge.</param>
    /// <param name="batchSize">Questions per judge call (and per appended batch), ≥ 1; default 256.</param>
    public FeedbackAudit(IPreferenceJudge judge, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(judge);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _judge = judge;
        BatchSize = batchSize;
    }

    /// <summary>Questions per judge call.</summary>
    public int BatchSize { get; }

    /// <summary>Judges (or resumes judging) one stage's comparisons and reports the agreement.</summary>
    /// <param name="stage">The stage's name, for the report.</param>
    /// <param name="comparisons">The comparisons (unique ids).</param>
    /// <param name="outputPath">The JSONL of <see cref="AuditRecord"/>s; created when missing, resumed otherwise.</param>
    /// <param name="progress">Judged comparisons; may be null.</param>
    /// <param name="cancellationToken">Stops the run between batches (and inside the judge).</param>
    /// <returns>The report.</returns>
    /// <exception cref="InvalidOperationException">The judge returned the wrong number of verdicts.</exception>
    public async Task<AuditReport> RunAsync(
        string stage,
        IReadOnlyList<SyntheticComparison> comparisons,
        string outputPath,
        IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(outputPath);
        var verdicts = new Dictionary<string, AuditRecord>(StringComparer.Ordinal);
        foreach (var record in await ResumableJsonl.RepairAndReadAsync<AuditRecord>(outputPath, r => r.Id, NullLogger.Instance, cancellationToken).ConfigureAwait(false))
        {
            verdicts.TryAdd(record.Id, record);
        }

        var pending = comparisons.Where(c => !verdicts.ContainsKey(c.Id)).ToList();
        progress?.Report(new SyntheticProgress("audit", comparisons.Count - pending.Count, comparisons.Count, stage));
        await using (var writer = JsonlWriter.Open(outputPath))
        {
            for (int start = 0; start < pending.Count; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = pending.GetRange(start, Math.Min(BatchSize, pending.Count - start));
                var questions = batch.ConvertAll(c => ChosenFirst(c)
                    ? new PreferenceQuestion(c.Prompt, c.Chosen, c.Rejected)
                    : new PreferenceQuestion(c.Prompt, c.Rejected, c.Chosen));
                var answers = await _judge.JudgeAsync(questions, cancellationToken).ConfigureAwait(false);
                if (answers.Count != batch.Count)
                {
                    throw new InvalidOperationException($"{_judge.GetType().Name} returned {answers.Count} verdicts for {batch.Count} questions.");
                }

                var records = batch.Select((c, i) => new AuditRecord
                {
                    Id = c.Id,
                    Verdict = ToVerdict(answers[i].Preferred, ChosenFirst(c)),
                    ChosenConfiguration = c.ChosenConfiguration,
                    RejectedConfiguration = c.RejectedConfiguration,
                    Reason = answers[i].Reason,
                }).ToList();
                await writer.WriteManyAsync(records, CancellationToken.None).ConfigureAwait(false);
                foreach (var record in records)
                {
                    verdicts[record.Id] = record;
                }

                progress?.Report(new SyntheticProgress("audit", comparisons.Count - pending.Count + start + batch.Count, comparisons.Count, stage));
            }
        }

        return Summarize(stage, comparisons.Select(c => verdicts[c.Id]));
    }

    /// <summary>The report of a set of verdicts.</summary>
    /// <param name="stage">The stage's name.</param>
    /// <param name="records">The verdicts.</param>
    /// <returns>Overall and per-pair agreement.</returns>
    public static AuditReport Summarize(string stage, IEnumerable<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var overall = new AgreementStatistics(0, 0, 0, 0);
        var pairs = new List<(string Chosen, string Rejected)>();
        var byPair = new Dictionary<(string, string), AgreementStatistics>();
        foreach (var record in records)
        {
            overall = overall.Add(record.Verdict);
            var key = (record.ChosenConfiguration, record.RejectedConfiguration);
            if (!byPair.TryGetValue(key, out var stats))
            {
                pairs.Add(key);
                stats = new AgreementStatistics(0, 0, 0, 0);
            }

            byPair[key] = stats.Add(record.Verdict);
        }

        return new AuditReport(stage, overall, pairs.ConvertAll(p => new PairAgreement(p.Chosen, p.Rejected, byPair[p])));
    }

    private static bool ChosenFirst(SyntheticComparison comparison) => (Determinism.DeriveSeed(0, comparison.Id) & 1) == 0;

    private static AuditVerdict ToVerdict(PreferredResponse preferred, bool chosenFirst) => preferred switch
    {
        PreferredResponse.A => chosenFirst ? AuditVerdict.Chosen : AuditVerdict.Rejected,
        PreferredResponse.B => chosenFirst ? AuditVerdict.Rejected : AuditVerdict.Chosen,
        _ => AuditVerdict.Tie,
    };
}
