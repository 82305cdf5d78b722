using Almost.Data;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Synthetic.Audit;
using Almost.Synthetic.Comparisons;
using Almost.Synthetic.Filters;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Queries;
using Almost.Synthetic.Ranking;
using Almost.TinyWorld;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Integration;

/// <summary>The synthetic-feedback steps end to end on TinyWorld with the shipped zoo's tiny model, audited by the oracle.</summary>
public sealed class TinyWorldFeedbackTests
{
    private static string ZooFolder => TinyWorldFiles.FindZoo();

    [Fact]
    public async Task Queries_configurations_filter_pairing_and_audit_produce_comparisons_and_a_rerun_resumes_without_generating()
    {
        string folder = Path.Combine(ZooFolder, "tiny");
        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = TorchSharp.torch.ScalarType.Float32 });
        var generator = new ScriptedCounter(new LocalGenerator(model, AlmostTokenizer.FromFolder(folder), new LocalGeneratorOptions { MaxBatchSize = 32 }));
        using var output = new TempFolder();

        async Task<(QueryGenerationSummary Queries, IReadOnlyList<QueryResponses> Responses, PairingResult Raw, PairingResult Filtered, AuditReport RawAudit, AuditReport FilteredAudit)> Run()
        {
            // Queries: train-split seeds, decontaminated against eval-split tasks in every wording.
            var parser = new TaskQueryParser();
            var seeds = new TaskGenerator(1).Generate(TaskSplit.Train, 12).Select(t => t.Query).ToList();
            var evalSet = new TaskGenerator(11).Generate(TaskSplit.Eval, 300);
            var queries = await new QueryGenerator(generator, new QueryGenerationOptions
            {
                TargetCount = 24, PromptsPerRound = 16, MaxRougeL = 0.9, Format = QueryPromptFormat.Transcript,
                Generation = new QueryGenerationOptions().Generation with { Seed = 1, MaxNewTokens = 24 },
            }, new NgramDecontaminator(evalSet.SelectMany(parser.Wordings))).RunAsync(seeds, output.File("queries.jsonl"));

            // Configurations: the tiny model with 3, 1 and 0 careful shots; the rubric derived from the shots.
            var careful = new DemonstrationDialogues("careful", DemonstrationTranscripts.ToMessages(DemonstrationSet.Create(Persona.Careful, 3, seed: 5)));
            var configurations = new[] { 3, 1, 0 }.Select(shots => new PromptConfiguration
            {
                Name = $"tiny-careful-{shots}", Generator = generator, Demonstrations = careful, Shots = shots,
                Sampling = new GenerationOptions { Temperature = 0.7, MaxNewTokens = 32, Seed = 1 },
            }).ToList();
            var rubric = RankingRubric.Derive(configurations);
            rubric.ToString().Should().Be("tiny-careful-3 > tiny-careful-1 > tiny-careful-0");
            var responses = await new ResponseGenerationJob().RunAsync(queries.Queries, configurations, output.File("responses"));

            // Pairing raw and after the filter (TinyWorld settings: no minimum length, no length guard); the oracle audits both.
            var raw = new ComparisonBuilder(rubric, null, new PairingOptions { LengthGuard = false }).Build(responses);
            var filtered = new ComparisonBuilder(rubric, new HeuristicResponseFilter(new HeuristicFilterOptions { MinLength = 0 }),
                new PairingOptions { LengthGuard = false }).Build(responses);
            await ComparisonBuilder.WriteAsync(output.File("filtered.jsonl"), filtered.Comparisons);
            var audit = new FeedbackAudit(new OracleJudge());
            return (queries, responses, raw, filtered,
                await audit.RunAsync("raw", raw.Comparisons, output.File("raw.audit.jsonl")),
                await audit.RunAsync("filtered", filtered.Comparisons, output.File("filtered.audit.jsonl")));
        }

        var first = await Run();

        first.Queries.Accepted.Should().BeGreaterThanOrEqualTo(24);
        first.Queries.Queries.Count(q => new TaskQueryParser().Parse(q.Text) is not null).Should().BeGreaterThan(first.Queries.Accepted / 2,
            "a vanilla model pretrained on TinyWorld transcripts writes TinyWorld-style queries");
        first.Responses.Should().HaveCount(first.Queries.Accepted).And.OnlyContain(r => r.Responses.Count == 3);
        first.Raw.Comparisons.Should().HaveCountGreaterThan(first.Queries.Accepted, "about two comparisons per query before filtering");
        first.Filtered.Comparisons.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(first.Raw.Comparisons.Count);
        first.Filtered.Statistics.DroppedResponses.Should().BePositive();
        first.RawAudit.Overall.Comparisons.Should().Be(first.Raw.Comparisons.Count);
        first.RawAudit.Overall.Decisive.Should().BePositive();
        first.FilteredAudit.ByPair.Select(p => p.ChosenConfiguration).Should().BeSubsetOf(["tiny-careful-3", "tiny-careful-1"]);
        (await JsonlReader.ReadAllAsync<PreferenceRecord>(output.File("filtered.jsonl"))).Records.Should().HaveCount(first.Filtered.Comparisons.Count);

        int calls = generator.Calls;
        var second = await Run();
        generator.Calls.Should().Be(calls, "every generation step resumes from its JSONL");
        second.Filtered.Comparisons.Should().BeEquivalentTo(first.Filtered.Comparisons, o => o.WithStrictOrdering());
        second.FilteredAudit.Should().BeEquivalentTo(first.FilteredAudit);
    }

    private sealed class ScriptedCounter(ITextGenerator inner) : ITextGenerator
    {
        public int Calls { get; private set; }

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.GenerateAsync(prompts, options, progress, cancellationToken);
        }
    }
}
