using Almost.Scoring;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.Validation;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Validation;

public sealed class CrossFittedValidatorTests
{
    /// <summary>Three comparisons for each of 10 queries; the chosen response says "good" except in every third comparison.</summary>
    private static List<SyntheticComparison> Comparisons() =>
        Enumerable.Range(0, 30).Select(i => new SyntheticComparison
        {
            Id = $"q{i / 3}:{i % 3}",
            Prompt = $"\n\nHuman: query {i / 3}\n\nAssistant:",
            Chosen = i % 3 == 2 ? $" bad {i}." : $" good {i}.",
            Rejected = i % 3 == 2 ? $" good {i}." : $" bad {i}.",
            QueryId = $"q{i / 3}",
            Query = $"query {i / 3}",
            ChosenConfiguration = "A",
            RejectedConfiguration = "B",
            ChosenRank = 0,
            RejectedRank = 1,
        }).ToList();

    /// <summary>A trainer whose models record what they were trained on and what they scored; "good" scores 1.</summary>
    private sealed class RecordingTrainer
    {
        public Dictionary<int, HashSet<string>> TrainedOn { get; } = [];

        public Dictionary<int, List<string>> Scored { get; } = [];

        public List<int> Disposed { get; } = [];

        public Task<IRewardModel> Train(IReadOnlyList<SyntheticComparison> training, int fold, CancellationToken cancellationToken)
        {
            TrainedOn[fold] = training.SelectMany(c => new[] { c.Prompt + c.Chosen, c.Prompt + c.Rejected }).ToHashSet();
            Scored[fold] = [];
            return Task.FromResult<IRewardModel>(new Model(this, fold));
        }

        private sealed class Model(RecordingTrainer owner, int fold) : IRewardModel, IDisposable
        {
            public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default)
            {
                owner.Scored[fold].AddRange(inputs.Select(i => i.Prompt + i.Response));
                return Task.FromResult<IReadOnlyList<double>>(inputs.Select(i => i.Response.Contains("good", StringComparison.Ordinal) ? 1.0 : 0.0).ToList());
            }

            public void Dispose() => owner.Disposed.Add(fold);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public async Task No_comparison_is_scored_by_a_model_trained_on_it_or_on_its_query(int folds)
    {
        var comparisons = Comparisons();
        var trainer = new RecordingTrainer();
        using var folder = new TempFolder();

        var result = await new CrossFittedValidator(trainer.Train, new CrossFitOptions { Folds = folds, Seed = 4 })
            .ValidateAsync(comparisons, folder.File("validation.jsonl"));

        trainer.TrainedOn.Keys.Should().BeEquivalentTo(Enumerable.Range(0, folds));
        foreach (int fold in trainer.Scored.Keys)
        {
            trainer.Scored[fold].Should().NotIntersectWith(trainer.TrainedOn[fold], $"fold {fold}'s model never saw what it scores");
            var scoredQueries = trainer.Scored[fold].Select(t => t[..t.IndexOf("\n\nAssistant:", StringComparison.Ordinal)]).ToHashSet();
            var trainedQueries = trainer.TrainedOn[fold].Select(t => t[..t.IndexOf("\n\nAssistant:", StringComparison.Ordinal)]).ToHashSet();
            scoredQueries.Should().NotIntersectWith(trainedQueries, "folds split by query");
        }

        trainer.Scored.Values.Sum(s => s.Count).Should().Be(2 * comparisons.Count, "every comparison is scored exactly once");
        trainer.Disposed.Should().BeEquivalentTo(Enumerable.Range(0, folds));
        result.Records.Should().HaveCount(30);
        result.Records.Select(r => r.Id).Should().Equal(comparisons.Select(c => c.Id));
        result.Kept.Should().HaveCount(20).And.OnlyContain(c => c.Chosen.Contains("good"));
        result.TrainedFolds.Should().Be(folds);
    }

    [Fact]
    public void Folds_follow_queries_and_the_seed()
    {
        var comparisons = Comparisons();
        var folds = CrossFittedValidator.AssignFolds(comparisons, 3, seed: 1);

        comparisons.Select((c, i) => (c.QueryId, Fold: folds[i])).GroupBy(x => x.QueryId)
            .Should().OnlyContain(g => g.Select(x => x.Fold).Distinct().Count() == 1);
        folds.GroupBy(f => f).Select(g => g.Count() / 3).Should().BeEquivalentTo([4, 3, 3], "10 queries dealt round-robin into 3 folds");
        CrossFittedValidator.AssignFolds(comparisons, 3, seed: 1).Should().Equal(folds);
        CrossFittedValidator.AssignFolds(comparisons, 3, seed: 2).Should().NotEqual(folds);
    }

    [Fact]
    public async Task The_margin_drops_weak_agreement()
    {
        using var folder = new TempFolder();
        var trainer = new RecordingTrainer();
        var result = await new CrossFittedValidator(trainer.Train, new CrossFitOptions { Margin = 1 })
            .ValidateAsync(Comparisons(), folder.File("v.jsonl"));

        result.Kept.Should().BeEmpty("a margin of exactly 1 is not above 1");
    }

    [Fact]
    public async Task A_resumed_run_retrains_only_the_fold_that_was_cut_short()
    {
        using var folder = new TempFolder();
        string path = folder.File("v.jsonl");
        var comparisons = Comparisons();
        var first = await new CrossFittedValidator(new RecordingTrainer().Train, new CrossFitOptions { Folds = 3 }).ValidateAsync(comparisons, path);
        string full = await File.ReadAllTextAsync(path);

        // Keep fold 0's records whole and one record of fold 1, then tear the next line.
        var lines = full.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int fold0 = first.Records.Count(r => r.Fold == 0);
        await File.WriteAllTextAsync(path, string.Join('\n', lines.Take(fold0 + 1)) + "\n" + lines[fold0 + 1][..7]);

        var trainer = new RecordingTrainer();
        var resumed = await new CrossFittedValidator(trainer.Train, new CrossFitOptions { Folds = 3 }).ValidateAsync(comparisons, path);

        trainer.TrainedOn.Keys.Should().BeEquivalentTo([1, 2]);
        resumed.TrainedFolds.Should().Be(2);
        resumed.Records.Should().BeEquivalentTo(first.Records, o => o.WithStrictOrdering());
        (await File.ReadAllLinesAsync(path)).Should().HaveCount(30).And.OnlyHaveUniqueItems();
    }
}
