using Almost.Data;
using Almost.Devices;
using Almost.Scoring;
using Almost.Synthetic.Comparisons;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Synthetic.Validation;

/// <summary>
/// ALMoST's post-validation, cross-fitted: the comparisons are split into K folds <em>by query</em>; for each fold a
/// reward model trained on the other folds scores it, and a comparison is kept when that model prefers its chosen side
/// (by more than <see cref="CrossFitOptions.Margin"/>). No comparison is judged by a model that was trained on it, or on
/// any other comparison of its query (which shares its responses).
/// </summary>
/// <remarks>
/// Each fold's records are appended to a JSONL output (<see cref="ValidationRecord"/>) once its model has scored it;
/// rerunning after a crash or cancellation skips complete folds (no retraining) and redoes only a fold cut short,
/// appending its missing records. Fold assignment is a seeded shuffle of the distinct query ids, dealt round-robin.
/// </remarks>
public sealed class CrossFittedValidator
{
    private readonly FoldRewardModelTrainer _trainer;
    private readonly CrossFitOptions _options;
    private readonly ILogger<CrossFittedValidator> _logger;

    /// <summary>Creates the validator.</summary>
    /// <param name="trainer">Trains one fold's reward model.</param>
    /// <param name="options">Folds, margin, seed; null for defaults.</param>
    /// <param name="logger">Receives per-fold messages; null for none.</param>
    public CrossFittedValidator(FoldRewardModelTrainer trainer, CrossFitOptions? options = null, ILogger<CrossFittedValidator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        options ??= new CrossFitOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Folds, 2, nameof(options));
        if (!double.IsFinite(options.Margin))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Margin, "Expected a finite margin.");
        }

        _trainer = trainer;
        _options = options;
        _logger = logger ?? NullLogger<CrossFittedValidator>.Instance;
    }

    /// <summary>The fold of each comparison: its query's fold, from a seeded shuffle of the distinct query ids dealt round-robin.</summary>
    /// <param name="comparisons">The comparisons.</param>
    /// <param name="folds">K ≥ 2.</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <returns>One fold index per comparison, in input order.</returns>
    public static IReadOnlyList<int> AssignFolds(IReadOnlyList<SyntheticComparison> comparisons, int folds, long seed)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        var queries = comparisons.Select(c => c.QueryId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        Determinism.CreateRandom(seed, "cross-fit-folds").Shuffle(queries);
        var foldOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < queries.Length; i++)
        {
            foldOf[queries[i]] = i % folds;
        }

        return comparisons.Select(c => foldOf[c.QueryId]).ToArray();
    }

    /// <summary>Runs (or resumes) post-validation.</summary>
    /// <param name="comparisons">The comparisons (unique ids).</param>
    /// <param name="outputPath">The JSONL of <see cref="ValidationRecord"/>s; created when missing, resumed otherwise.</param>
    /// <param name="progress">Folds done of K; may be null.</param>
    /// <param name="cancellationToken">Stops the run between folds (and inside training and scoring).</param>
    /// <returns>The kept comparisons and every record.</returns>
    /// <exception cref="ArgumentException">Duplicate comparison ids.</exception>
    /// <exception cref="InvalidOperationException">A reward model returned the wrong number of scores.</exception>
    public async Task<ValidationResult> ValidateAsync(
        IReadOnlyList<SyntheticComparison> comparisons,
        string outputPath,
        IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(outputPath);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < comparisons.Count; i++)
        {
            if (!index.TryAdd(comparisons[i].Id, i))
            {
                throw new ArgumentException($"Comparison id '{comparisons[i].Id}' appears more than once.", nameof(comparisons));
            }
        }

        var folds = AssignFolds(comparisons, _options.Folds, _options.Seed);
        var records = new ValidationRecord?[comparisons.Count];
        foreach (var record in await ResumableJsonl.RepairAndReadAsync<ValidationRecord>(outputPath, r => r.Id, _logger, cancellationToken).ConfigureAwait(false))
        {
            if (index.TryGetValue(record.Id, out int i) && folds[i] == record.Fold)
            {
                records[i] ??= record;
            }
        }

        int trained = 0, done = 0;
        await using var writer = JsonlWriter.Open(outputPath);
        for (int fold = 0; fold < _options.Folds; fold++)
        {
            var heldOut = Enumerable.Range(0, comparisons.Count).Where(i => folds[i] == fold).ToList();
            if (heldOut.TrueForAll(i => records[i] is not null))
            {
                progress?.Report(new SyntheticProgress("validation", ++done, _options.Folds, $"fold {fold} resumed"));
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var training = Enumerable.Range(0, comparisons.Count).Where(i => folds[i] != fold).Select(i => comparisons[i]).ToList();
            _logger.LogInformation("Fold {Fold}: training on {Training} comparisons, validating {HeldOut}", fold, training.Count, heldOut.Count);
            var model = await _trainer(training, fold, cancellationToken).ConfigureAwait(false);
            try
            {
                var inputs = heldOut.SelectMany(i => new[]
                {
                    new RewardModelInput(comparisons[i].Prompt, comparisons[i].Chosen),
                    new RewardModelInput(comparisons[i].Prompt, comparisons[i].Rejected),
                }).ToList();
                var scores = await model.ScoreAsync(inputs, cancellationToken).ConfigureAwait(false);
                if (scores.Count != inputs.Count)
                {
                    throw new InvalidOperationException($"Fold {fold}'s reward model returned {scores.Count} scores for {inputs.Count} inputs.");
                }

                var fresh = new List<ValidationRecord>();
                for (int k = 0; k < heldOut.Count; k++)
                {
                    int i = heldOut[k];
                    double chosen = scores[2 * k], rejected = scores[(2 * k) + 1];
                    var record = new ValidationRecord
                    {
                        Id = comparisons[i].Id, Fold = fold, ChosenReward = chosen, RejectedReward = rejected,
                        Kept = chosen - rejected > _options.Margin,
                    };
                    if (records[i] is null)
                    {
                        records[i] = record;
                        fresh.Add(record);
                    }
                }

                await writer.WriteManyAsync(fresh, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }

            trained++;
            _logger.LogInformation("Fold {Fold}: kept {Kept} of {HeldOut}", fold, heldOut.Count(i => records[i]!.Kept), heldOut.Count);
            progress?.Report(new SyntheticProgress("validation", ++done, _options.Folds, $"fold {fold}"));
        }

        var all = records.Select(r => r!).ToList();
        var kept = comparisons.Where((_, i) => all[i].Kept).ToList();
        return new ValidationResult(kept, all, trained);
    }
}
