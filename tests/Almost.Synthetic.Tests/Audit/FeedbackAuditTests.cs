using Almost.Scoring;
using Almost.Synthetic.Audit;
using Almost.Synthetic.Comparisons;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Audit;

public sealed class FeedbackAuditTests
{
    /// <summary>Prefers the response with more 'g's; equal counts tie. Records the questions it saw.</summary>
    private sealed class CountingJudge : IPreferenceJudge
    {
        public List<PreferenceQuestion> Seen { get; } = [];

        public Task<IReadOnlyList<PreferenceVerdict>> JudgeAsync(IReadOnlyList<PreferenceQuestion> questions, CancellationToken cancellationToken = default)
        {
            Seen.AddRange(questions);
            return Task.FromResult<IReadOnlyList<PreferenceVerdict>>(questions.Select(q =>
            {
                int a = q.ResponseA.Count(c => c == 'g'), b = q.ResponseB.Count(c => c == 'g');
                return new PreferenceVerdict(a == b ? PreferredResponse.Tie : a > b ? PreferredResponse.A : PreferredResponse.B, $"{a} vs {b}");
            }).ToList());
        }
    }

    private static SyntheticComparison Comparison(int i, string chosen, string rejected, string chosenConfiguration = "A", string rejectedConfiguration = "B") => new()
    {
        Id = $"q{i}:{chosenConfiguration}>{rejectedConfiguration}", Prompt = "p", Chosen = chosen, Rejected = rejected, QueryId = $"q{i}",
        Query = "q", ChosenConfiguration = chosenConfiguration, RejectedConfiguration = rejectedConfiguration, ChosenRank = 0, RejectedRank = 1,
    };

    [Fact]
    public async Task Agreement_is_over_decisive_pairs_with_ties_apart_overall_and_per_pair()
    {
        // A>B: 6 agree, 2 disagree, 2 ties. A>C: 1 agree, 1 disagree.
        var comparisons = new List<SyntheticComparison>();
        for (int i = 0; i < 10; i++)
        {
            comparisons.Add(i < 6 ? Comparison(i, "gg", "g") : i < 8 ? Comparison(i, "g", "gg") : Comparison(i, "g", "g"));
        }

        comparisons.Add(Comparison(20, "gg", "", "A", "C"));
        comparisons.Add(Comparison(21, "", "gg", "A", "C"));
        using var folder = new TempFolder();
        var judge = new CountingJudge();

        var report = await new FeedbackAudit(judge, batchSize: 5).RunAsync("raw", comparisons, folder.File("audit.jsonl"));

        report.Stage.Should().Be("raw");
        report.Overall.Should().BeEquivalentTo(new { Comparisons = 12, Agree = 7, Disagree = 3, Ties = 2, Decisive = 10 });
        report.Overall.Agreement.Should().BeApproximately(0.7, 1e-12);
        report.Overall.TieShare.Should().BeApproximately(2.0 / 12, 1e-12);
        report.ByPair.Select(p => (p.ChosenConfiguration, p.RejectedConfiguration, p.Statistics.Agree, p.Statistics.Disagree, p.Statistics.Ties))
            .Should().Equal(("A", "B", 6, 2, 2), ("A", "C", 1, 1, 0));
        judge.Seen.Count(q => q.ResponseA == "gg" && q.ResponseB == "g").Should().BeInRange(1, 5, "the chosen side is shown first in about half the questions");
    }

    [Fact]
    public async Task A_resumed_audit_asks_the_judge_only_about_the_rest()
    {
        var comparisons = Enumerable.Range(0, 9).Select(i => Comparison(i, "gg", "g")).ToList();
        using var folder = new TempFolder();
        string path = folder.File("audit.jsonl");
        await new FeedbackAudit(new CountingJudge(), batchSize: 4).RunAsync("s", comparisons.Take(5).ToList(), path);

        var judge = new CountingJudge();
        var report = await new FeedbackAudit(judge, batchSize: 4).RunAsync("s", comparisons, path);

        judge.Seen.Should().HaveCount(4);
        report.Overall.Agree.Should().Be(9);
        (await File.ReadAllLinesAsync(path)).Should().HaveCount(9);
    }
}
