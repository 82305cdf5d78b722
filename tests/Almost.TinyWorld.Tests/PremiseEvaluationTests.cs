using Almost.Generation;
using Almost.TinyWorld.Zoo;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

public class PremiseEvaluationTests
{
    /// <summary>Answers every prompt's open question as a fixed persona would, and records what it was asked.</summary>
    private sealed class PersonaGenerator(IReadOnlyList<TinyTask> tasks, Persona persona) : ITextGenerator
    {
        private readonly PersonaResponder _responder = new(seed: 3);

        public List<string> Prompts { get; } = [];

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            Prompts.AddRange(prompts);
            IReadOnlyList<IReadOnlyList<GenerationResult>> results = prompts.Select(prompt =>
            {
                string query = prompt[(prompt.LastIndexOf(PromptBuilder.HumanPrefix, StringComparison.Ordinal) + PromptBuilder.HumanPrefix.Length)..^PromptBuilder.AssistantPrefix.Length];
                var task = tasks.First(t => t.Query == query);
                IReadOnlyList<GenerationResult> one = [new GenerationResult(" " + _responder.Respond(task, persona), [], null, FinishReason.Stop)];
                return one;
            }).ToList();
            return Task.FromResult(results);
        }
    }

    [Fact]
    public async Task Careful_answers_score_one_in_every_cell_and_each_distinct_prompt_is_generated_once()
    {
        var evaluation = new PremiseEvaluation(new PremiseOptions { TaskCount = 24 });
        var generator = new PersonaGenerator(evaluation.Tasks, Persona.Careful);

        var cells = await evaluation.EvaluateAsync("oracle-careful", generator);

        cells.Should().HaveCount(8);
        cells.Should().OnlyContain(c => c.MeanScore > 0.999 && c.Tasks == 24 && c.ByFamily.Count == 6);
        generator.Prompts.Should().OnlyHaveUniqueItems("each distinct prompt is generated once")
            .And.HaveCount(evaluation.Tasks.Select(t => t.Query).Distinct().Count() * 7, "the 0-shot prompt is the same for both qualities");
        evaluation.Tasks.Should().OnlyContain(t => t.Split == TaskSplit.Eval);
    }

    [Fact]
    public async Task Report_round_trips_through_json_and_renders_a_markdown_table()
    {
        var evaluation = new PremiseEvaluation(new PremiseOptions { TaskCount = 12 });
        var cells = await evaluation.EvaluateAsync("sloppy", new PersonaGenerator(evaluation.Tasks, Persona.Sloppy));
        var report = new PremiseReport { Options = evaluation.Options, Cells = cells };
        string path = Path.Combine(Path.GetTempPath(), $"premise-{Guid.NewGuid():N}.json");

        try
        {
            report.Save(path);
            var loaded = PremiseReport.Load(path);

            loaded.Options.Generation.StopStrings.Should().Equal("\n\nHuman:");
            loaded.Options.Demonstrations.Should().Equal(Persona.Careful, Persona.Sloppy);
            loaded.Cell("sloppy", 3, Persona.Careful).MeanScore.Should().Be(report.Cell("sloppy", 3, Persona.Careful).MeanScore);
            report.ToMarkdown().Should().Contain("| sloppy | careful |").And.Contain("5-shot");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Packing_puts_endoftext_after_every_document_and_cuts_full_blocks()
    {
        var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Characters[b].ToString(), b => b + 1);
        var tokenizer = TokenizerLoader.FromByteLevelBpe(
            vocab, [], new Dictionary<string, int> { ["<|endoftext|>"] = 0 }, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

        var blocks = ZooCorpus.Pack(tokenizer, ["abc", "de", "fghij"], blockSize: 4);

        blocks.Should().HaveCount(3);
        blocks[0].InputIds.Should().Equal('a' + 1, 'b' + 1, 'c' + 1, 0);
        blocks[1].InputIds.Should().Equal('d' + 1, 'e' + 1, 0, 'f' + 1);
        blocks[2].InputIds.Should().Equal('g' + 1, 'h' + 1, 'i' + 1, 'j' + 1);
    }
}
