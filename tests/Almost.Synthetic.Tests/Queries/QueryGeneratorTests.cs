using Almost.Data;
using Almost.Synthetic.Queries;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Queries;

public sealed class QueryGeneratorTests
{
    private static readonly string[] Seeds = ["Can you explain how a rainbow forms?", "What should I pack for a weekend hike?"];

    private static readonly string[] Vocabulary =
        Enumerable.Range(0, 400).Select(i => $"w{i}").ToArray();

    /// <summary>Six random words per sample, a function of the call's seed and the position: diverse queries.</summary>
    private static ScriptedGenerator RandomWords() => new((_, seed, i, s) =>
    {
        var random = new Random(HashCode.Combine(seed, i, s));
        return " " + string.Join(' ', Enumerable.Range(0, 6).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])) + "?\n\nAssistant:";
    });

    private static QueryGenerationOptions Options(int target = 20, long seed = 3) => new()
    {
        TargetCount = target,
        ExamplesPerPrompt = 3,
        PromptsPerRound = 4,
        Format = QueryPromptFormat.Transcript,
        Generation = new QueryGenerationOptions().Generation with { Seed = seed },
    };

    [Fact]
    public async Task Near_duplicates_contaminated_short_and_empty_candidates_are_rejected_with_their_reason()
    {
        string[] script =
        [
            " Tell me about the history of tea in China.",
            " Tell me about the history of tea in Japan.",           // ROUGE-L 8/9 vs the first
            " Can you explain how a rainbow forms in the sky?",     // ROUGE-L vs a seed: 7 of 7 and 10 → 0.82
            " Quick question: what is 3 plus 4?",                    // contains an evaluation prompt
            " Hi there",                                             // 2 words
            "   ",
            " Which planets have rings and why do they have them?",
        ];
        var generator = new ScriptedGenerator((_, _, i, _) => script[i]);
        using var folder = new TempFolder();
        var options = Options(target: 100) with { PromptsPerRound = script.Length, MaxRounds = 1 };

        var summary = await new QueryGenerator(generator, options, new NgramDecontaminator(["What is 3 plus 4?"]))
            .RunAsync(Seeds, folder.File("queries.jsonl"));

        var records = (await JsonlReader.ReadAllAsync<QueryCandidateRecord>(folder.File("queries.jsonl"))).Records;
        records.Select(r => (r.Accepted, r.Reason)).Should().Equal(
            (true, null), (false, QueryRejection.Similar), (false, QueryRejection.Similar), (false, QueryRejection.Contaminated),
            (false, QueryRejection.TooShort), (false, QueryRejection.Empty), (true, null));
        records[1].MostSimilar.Should().Be("Tell me about the history of tea in China.");
        records[1].RougeL.Should().BeApproximately(8.0 / 9, 1e-4);
        records[2].MostSimilar.Should().Be(Seeds[0]);
        records[3].ContaminatedBy.Should().Be("What is 3 plus 4?");
        summary.Accepted.Should().Be(2);
        summary.Candidates.Should().Be(7);
        summary.Decontaminated.Should().Be(1);
        summary.Rejected.Should().Equal(new Dictionary<string, int>
        {
            [QueryRejection.Contaminated] = 1, [QueryRejection.Empty] = 1, [QueryRejection.Similar] = 2, [QueryRejection.TooShort] = 1,
        });
        summary.Queries.Select(q => q.Id).Should().Equal("0-0", "0-6");
    }

    [Fact]
    public async Task The_paraphrase_check_catches_what_n_grams_miss_and_counts_as_decontamination()
    {
        string[] script = [" Can you add 4 and 3 together?", " Which planets have rings and why?"];
        var generator = new ScriptedGenerator((_, _, i, _) => script[i]);
        using var folder = new TempFolder();
        var options = Options(target: 100) with
        {
            PromptsPerRound = 2, MaxRounds = 1,
            ParaphraseCheck = q => q.Contains('3') && q.Contains('4') ? "What is 3 plus 4?" : null,
        };

        var summary = await new QueryGenerator(generator, options, new NgramDecontaminator(["What is 3 plus 4?"]))
            .RunAsync(Seeds, folder.File("queries.jsonl"));

        var records = (await JsonlReader.ReadAllAsync<QueryCandidateRecord>(folder.File("queries.jsonl"))).Records;
        records[0].Reason.Should().Be(QueryRejection.Paraphrase);
        records[0].ContaminatedBy.Should().Be("What is 3 plus 4?");
        records[1].Accepted.Should().BeTrue();
        summary.Decontaminated.Should().Be(1);
    }

    [Fact]
    public async Task Prompts_show_the_sampled_examples_in_the_format_and_sampling_follows_the_reference()
    {
        var generator = RandomWords();
        using var folder = new TempFolder();

        await new QueryGenerator(generator, Options(target: 6)).RunAsync(Seeds, folder.File("q.jsonl"));

        var (prompts, options) = generator.Calls[0];
        prompts.Should().HaveCount(4);
        prompts.Should().OnlyContain(p => p.EndsWith(AlmostTranscript.HumanPrefix, StringComparison.Ordinal));
        prompts.Should().OnlyContain(p => p.Split(AlmostTranscript.HumanPrefix).Length - 1 == 3, "two seeds is all the first round can show, plus the open turn");
        options.Temperature.Should().Be(1.2);
        options.TopP.Should().Be(0.9);
        options.StopStrings.Should().Contain([AlmostTranscript.HumanPrefix, AlmostTranscript.AssistantPrefix]);
        generator.Calls[1].Prompts.Should().OnlyContain(p => p.Split(AlmostTranscript.HumanPrefix).Length - 1 == 4, "later rounds sample 3 examples from seeds + accepted");
        generator.Calls[1].Options.Seed.Should().NotBe(options.Seed);
    }

    [Fact]
    public async Task The_run_stops_at_the_target_after_finishing_its_round()
    {
        using var folder = new TempFolder();
        var summary = await new QueryGenerator(RandomWords(), Options(target: 10)).RunAsync(Seeds, folder.File("q.jsonl"));

        summary.Accepted.Should().Be(12, "every random 6-word query is new; three rounds of four reach 10");
        summary.Rounds.Should().Be(3);
    }

    [Fact]
    public async Task A_crashed_and_torn_run_resumes_to_exactly_the_uninterrupted_output()
    {
        using var folder = new TempFolder();
        string reference = folder.File("reference.jsonl");
        await new QueryGenerator(RandomWords(), Options()).RunAsync(Seeds, reference);
        string[] lines = await File.ReadAllLinesAsync(reference);

        // A crash in the generator after two rounds.
        string crashed = folder.File("crashed.jsonl");
        var failing = RandomWords();
        failing.FailAfterCalls = 2;
        await FluentActions.Awaiting(() => new QueryGenerator(failing, Options()).RunAsync(Seeds, crashed))
            .Should().ThrowAsync<IOException>();
        (await File.ReadAllLinesAsync(crashed)).Should().HaveCount(8);
        var resumed = await new QueryGenerator(RandomWords(), Options()).RunAsync(Seeds, crashed);
        (await File.ReadAllTextAsync(crashed)).Should().Be(await File.ReadAllTextAsync(reference));
        resumed.ResumedCandidates.Should().Be(8);

        // A crash in the middle of a round's append: six whole lines and half of the seventh.
        string torn = folder.File("torn.jsonl");
        await File.WriteAllTextAsync(torn, string.Join('\n', lines.Take(6)) + "\n" + lines[6][..10]);
        var generator = RandomWords();
        await new QueryGenerator(generator, Options()).RunAsync(Seeds, torn);
        (await File.ReadAllTextAsync(torn)).Should().Be(await File.ReadAllTextAsync(reference));
        generator.Calls.Should().HaveCount((lines.Length / 4) - 1, "the cut round is regenerated, the first is not");
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_queries_and_another_seed_other_ones()
    {
        using var folder = new TempFolder();
        var a = await new QueryGenerator(RandomWords(), Options(seed: 1)).RunAsync(Seeds, folder.File("a.jsonl"));
        var b = await new QueryGenerator(RandomWords(), Options(seed: 1)).RunAsync(Seeds, folder.File("b.jsonl"));
        var c = await new QueryGenerator(RandomWords(), Options(seed: 2)).RunAsync(Seeds, folder.File("c.jsonl"));

        b.Queries.Should().Equal(a.Queries);
        c.Queries.Select(q => q.Text).Should().NotIntersectWith(a.Queries.Select(q => q.Text));
    }

    [Fact]
    public async Task Cancellation_stops_between_rounds_and_reports_progress_until_then()
    {
        using var folder = new TempFolder();
        using var cancellation = new CancellationTokenSource();
        var reports = new List<SyntheticProgress>();
        var progress = new SyncProgress<SyntheticProgress>(p =>
        {
            reports.Add(p);
            if (p.Completed >= 8)
            {
                cancellation.Cancel();
            }
        });

        await FluentActions.Awaiting(() => new QueryGenerator(RandomWords(), Options()).RunAsync(Seeds, folder.File("q.jsonl"), progress, cancellation.Token))
            .Should().ThrowAsync<OperationCanceledException>();

        reports.Select(r => r.Completed).Should().Equal(0, 4, 8);
        reports.Should().OnlyContain(r => r.Step == "queries" && r.Total == 20);
        (await File.ReadAllLinesAsync(folder.File("q.jsonl"))).Should().HaveCount(8);
    }

    [Fact]
    public async Task A_file_written_with_other_settings_is_refused_naming_the_line()
    {
        using var folder = new TempFolder();
        string path = folder.File("q.jsonl");
        await new QueryGenerator(RandomWords(), Options(target: 4)).RunAsync(Seeds, path);

        await FluentActions.Awaiting(() => new QueryGenerator(RandomWords(), Options() with { PromptsPerRound = 3 }).RunAsync(Seeds, path))
            .Should().ThrowAsync<JsonlFormatException>().WithMessage("*line 4*round 0, expected round 1*");
    }
}
