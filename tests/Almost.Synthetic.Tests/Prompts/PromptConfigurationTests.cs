using Almost.Data;
using Almost.Generation;
using Almost.Synthetic.Prompts;
using Almost.Synthetic.Queries;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.Prompts;

public sealed class PromptConfigurationTests
{
    private static readonly DemonstrationDialogues Demos = new("careful",
    [
        [ChatMessage.User("What is 2 plus 2?"), ChatMessage.Assistant("2 plus 2 is 4.")],
        [ChatMessage.User("Hi"), ChatMessage.Assistant("Hello."), ChatMessage.User("Capital of Velora?"), ChatMessage.Assistant("Tamsin.")],
    ]);

    [Fact]
    public void The_prompt_is_preamble_then_k_dialogues_then_the_open_turn()
    {
        var config = new PromptConfiguration
        {
            Name = "c", Generator = new ScriptedGenerator((_, _, _, _) => ""), Demonstrations = Demos, Shots = 2,
            Template = new PromptTemplate { Preamble = "Below are dialogues." },
        };

        config.BuildPrompt("Sort 3, 1.").Should().Be(
            "Below are dialogues." +
            AlmostTranscript.FormatTurn("What is 2 plus 2?", "2 plus 2 is 4.") +
            AlmostTranscript.FormatTurn("Hi", "Hello.") + AlmostTranscript.FormatTurn("Capital of Velora?", "Tamsin.") +
            AlmostTranscript.FormatPrompt("Sort 3, 1."));
        (config with { Shots = 0 }).BuildPrompt("q").Should().Be("Below are dialogues." + AlmostTranscript.FormatPrompt("q"));
        PromptTemplate.Transcript.ComparisonPrompt("q").Should().Be(AlmostTranscript.FormatPrompt("q"));
        FluentActions.Invoking(() => (config with { Shots = 3 }).BuildPrompt("q")).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*'careful' holds 2*");
    }

    [Fact]
    public void A_reply_is_cut_at_the_next_turn_keeping_its_leading_space() =>
        PromptTemplate.Transcript.CutReply(" 7 is the answer.  \n\nHuman: thanks").Should().Be(" 7 is the answer.");

    [Fact]
    public async Task Demonstrations_load_from_trl_conversations_and_bad_lines_are_named()
    {
        using var folder = new TempFolder();
        await Demos.SaveAsync(folder.File("careful.jsonl"));
        var loaded = await DemonstrationDialogues.LoadAsync(folder.File("careful.jsonl"));
        loaded.Name.Should().Be("careful");
        loaded.Dialogues.Should().BeEquivalentTo(Demos.Dialogues, o => o.WithStrictOrdering());

        await File.WriteAllTextAsync(folder.File("bad.jsonl"),
            "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n" +
            "{\"messages\":[{\"role\":\"assistant\",\"content\":\"b\"}]}\n");
        await FluentActions.Awaiting(() => DemonstrationDialogues.LoadAsync(folder.File("bad.jsonl")))
            .Should().ThrowAsync<JsonlFormatException>().WithMessage("*bad.jsonl*line 2*turn 0 has role 'assistant', expected 'user'*");
        await File.WriteAllTextAsync(folder.File("open.jsonl"), "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n");
        await FluentActions.Awaiting(() => DemonstrationDialogues.LoadAsync(folder.File("open.jsonl")))
            .Should().ThrowAsync<JsonlFormatException>().WithMessage("*line 1*ends with the assistant*");
    }

    [Fact]
    public async Task Every_configuration_answers_every_query_with_its_own_seed_and_a_rerun_generates_nothing_again()
    {
        var generator = new ScriptedGenerator((prompt, seed, i, _) => $" answer {seed % 1000} to {AlmostTranscript.LastUserTurn(prompt)}.\n\nHuman: more");
        var configurations = new[]
        {
            new PromptConfiguration { Name = "two-shot", Generator = generator, Demonstrations = Demos, Shots = 2 },
            new PromptConfiguration { Name = "zero-shot", Generator = generator },
        };
        var queries = Enumerable.Range(0, 5).Select(i => new SyntheticQuery($"q{i}", $"query {i}")).ToList();
        using var folder = new TempFolder();
        var reports = new List<SyntheticProgress>();

        var responses = await new ResponseGenerationJob(new ResponseGenerationOptions { ChunkSize = 2 })
            .RunAsync(queries, configurations, folder.Path, new SyncProgress<SyntheticProgress>(reports.Add));

        responses.Should().HaveCount(5);
        responses[3].Query.Id.Should().Be("q3");
        responses[3].Prompt.Should().Be(AlmostTranscript.FormatPrompt("query 3"));
        responses[3].Responses.Select(r => r.Configuration).Should().Equal("two-shot", "zero-shot");
        responses[3].Responses.Should().OnlyContain(r => r.Text.StartsWith(" answer ") && r.Text.EndsWith(" to query 3."));
        responses[3].Responses[0].Text.Should().NotBe(responses[3].Responses[1].Text, "configurations sample with different seeds");
        generator.Calls.Should().HaveCount(6, "5 queries in chunks of 2, for two configurations");
        generator.Calls[0].Prompts[0].Should().Be(configurations[0].BuildPrompt("query 0"));
        generator.Calls.Should().OnlyContain(c => c.Options.StopStrings.Contains(AlmostTranscript.HumanPrefix));
        reports.Last().Should().Be(new SyntheticProgress("responses", 10, 10, "zero-shot"));

        var again = await new ResponseGenerationJob(new ResponseGenerationOptions { ChunkSize = 2 }).RunAsync(queries, configurations, folder.Path);
        generator.Calls.Should().HaveCount(6);
        again.Should().BeEquivalentTo(responses, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Bad_configurations_are_refused_naming_them()
    {
        var generator = new ScriptedGenerator((_, _, _, _) => "");
        var queries = new[] { new SyntheticQuery("q", "query") };
        using var folder = new TempFolder();
        var job = new ResponseGenerationJob();

        await FluentActions.Awaiting(() => job.RunAsync(queries, [new() { Name = "a", Generator = generator }, new() { Name = "a", Generator = generator }], folder.Path))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*'a' appears more than once*");
        await FluentActions.Awaiting(() => job.RunAsync(queries, [new() { Name = "x", Generator = generator, Shots = 1 }], folder.Path))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*'x' asks for 1 shots*holds 0*");
        await FluentActions.Awaiting(() => job.RunAsync(queries, [new() { Name = "x/y", Generator = generator }], folder.Path))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*'x/y' cannot be a file name*");
        await FluentActions.Awaiting(() => job.RunAsync(queries, [new() { Name = "s", Generator = generator, Sampling = new GenerationOptions { SamplesPerPrompt = 2 } }], folder.Path))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*'s' asks for 2 samples*");
    }
}
