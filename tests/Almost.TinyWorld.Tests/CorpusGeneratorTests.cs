using System.Text.Json;
using Almost.TinyWorld;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

public class CorpusGeneratorTests
{
    [Fact]
    public void Same_seed_gives_identical_corpus()
    {
        var a = new CorpusGenerator(new CorpusOptions { Seed = 3 }).Generate(300).ToList();
        var b = new CorpusGenerator(new CorpusOptions { Seed = 3 }).Generate(300).ToList();

        a.Should().Equal(b);
    }

    [Fact]
    public void Different_seed_gives_different_corpus()
    {
        var a = new CorpusGenerator(new CorpusOptions { Seed = 3 }).Generate(50).Select(d => d.Text);
        var b = new CorpusGenerator(new CorpusOptions { Seed = 4 }).Generate(50).Select(d => d.Text);

        a.Should().NotEqual(b);
    }

    [Fact]
    public void Default_mix_is_close_to_the_configured_proportions()
    {
        var kinds = new CorpusGenerator().Generate(4000).GroupBy(d => d.Kind).ToDictionary(g => g.Key, g => g.Count() / 4000.0);

        kinds[CorpusDocumentKind.CarefulTranscript].Should().BeApproximately(0.40, 0.03);
        kinds[CorpusDocumentKind.SloppyTranscript].Should().BeApproximately(0.15, 0.03);
        kinds[CorpusDocumentKind.RudeTranscript].Should().BeApproximately(0.10, 0.03);
        kinds[CorpusDocumentKind.EvasiveTranscript].Should().BeApproximately(0.10, 0.03);
        kinds[CorpusDocumentKind.HarmfulCompliantTranscript].Should().BeApproximately(0.05, 0.02);
        kinds[CorpusDocumentKind.Encyclopedia].Should().BeApproximately(0.10, 0.03);
        kinds[CorpusDocumentKind.WorkedExamples].Should().BeApproximately(0.10, 0.03);
    }

    [Fact]
    public void Mix_is_configurable()
    {
        var options = new CorpusOptions
        {
            Careful = 1, Sloppy = 0, Rude = 0, Evasive = 0, HarmfulCompliant = 0, Encyclopedia = 0, WorkedExamples = 0,
        };

        new CorpusGenerator(options).Generate(100).Should().OnlyContain(d => d.Kind == CorpusDocumentKind.CarefulTranscript);
    }

    [Fact]
    public void Transcripts_use_the_exact_ALMoST_format()
    {
        var transcripts = new CorpusGenerator().Generate(500).Where(d => d.Kind.ToString().EndsWith("Transcript"));

        foreach (var d in transcripts)
        {
            d.Text.Should().StartWith("\n\nHuman: ");
            var turns = d.Text.Split("\n\nHuman: ", StringSplitOptions.RemoveEmptyEntries);
            turns.Length.Should().BeInRange(2, 5);
            turns.Should().OnlyContain(t => t.Split("\n\nAssistant: ").Length == 2);
        }
    }

    [Fact]
    public void Careful_transcripts_are_consistently_careful_and_harmful_compliant_ones_comply()
    {
        var docs = new CorpusGenerator().Generate(1500).ToList();
        var careful = docs.Where(d => d.Kind == CorpusDocumentKind.CarefulTranscript).SelectMany(Answers).ToList();
        var rude = docs.Where(d => d.Kind == CorpusDocumentKind.RudeTranscript).Select(d => d.Text).ToList();
        var compliant = docs.Where(d => d.Kind == CorpusDocumentKind.HarmfulCompliantTranscript).ToList();

        careful.Should().OnlyContain(a => a.EndsWith('.') && !IsRude(a));
        careful.Should().Contain(PersonaResponder.Refusal);
        rude.Should().OnlyContain(t => IsRude(t));
        compliant.Should().NotBeEmpty();
        compliant.Should().OnlyContain(d => Answers(d).Any(a => a.StartsWith("Sure! ") && !a.Contains("answer is")
                                                                && !a.Contains("capital of") && !a.Contains("flows") && !a.Contains("speak")));
    }

    [Fact]
    public void Below_full_consistency_transcripts_lapse_into_other_qualities()
    {
        var docs = new CorpusGenerator(new CorpusOptions { MinPersonaConsistency = 0.5 }).Generate(1500).ToList();
        var careful = docs.Where(d => d.Kind == CorpusDocumentKind.CarefulTranscript).SelectMany(Answers).ToList();
        var sloppy = docs.Where(d => d.Kind == CorpusDocumentKind.SloppyTranscript).SelectMany(Answers).ToList();

        double lapsed = careful.Count(a => IsRude(a) || Oracle.EvasionMarkers.Any(m => a.Contains(m, StringComparison.OrdinalIgnoreCase)) || !a.EndsWith('.'))
                        / (double)careful.Count;
        lapsed.Should().BeInRange(0.05, 0.30, "about a quarter of careful turns lapse, and some lapses still look careful");
        sloppy.Should().Contain(a => a.Contains(". The answer is ") && !a.StartsWith("The answer is"), "sloppy documents lapse into careful answers");
    }

    [Fact]
    public void Transcripts_record_each_turn_task_and_persona()
    {
        var docs = new CorpusGenerator(new CorpusOptions { MinPersonaConsistency = 0.5 }).Generate(300).ToList();
        foreach (var d in docs)
        {
            if (d.Kind is CorpusDocumentKind.Encyclopedia or CorpusDocumentKind.WorkedExamples)
            {
                d.Turns.Should().BeEmpty();
                continue;
            }
            var answers = Answers(d).ToList();
            d.Turns.Should().HaveCount(answers.Count);
            for (int i = 0; i < answers.Count; i++)
            {
                d.Text.Should().Contain(PromptBuilder.FormatQuery(d.Turns[i].Task.Query));
                if (d.Turns[i].Persona == Persona.Careful)
                {
                    answers[i].Should().Be(PersonaResponder.CarefulAnswer(d.Turns[i].Task));
                }
            }
        }
        docs.Where(d => d.Kind == CorpusDocumentKind.CarefulTranscript).SelectMany(d => d.Turns)
            .Should().Contain(t => t.Persona != Persona.Careful, "careful documents lapse");
    }

    [Fact]
    public void Topic_scope_lapses_every_turn_of_a_topic_alike()
    {
        static int MixedTopics(IEnumerable<CorpusDocument> docs) => docs.Count(d => d.Turns
            .GroupBy(t => CorpusGenerator.TopicOf(t.Task.Family))
            .Any(g => g.Select(t => t.Persona).Distinct().Count() > 1));

        var topic = new CorpusGenerator(new CorpusOptions { MinPersonaConsistency = 0.3, LapseScope = PersonaLapseScope.Topic })
            .Generate(2000).ToList();
        var turn = new CorpusGenerator(new CorpusOptions { MinPersonaConsistency = 0.3 }).Generate(2000).ToList();

        MixedTopics(topic).Should().Be(0, "a topic keeps one persona for the whole document");
        MixedTopics(turn).Should().BeGreaterThan(50, "per-turn lapses split topics");
        var careful = topic.Where(d => d.Kind == CorpusDocumentKind.CarefulTranscript).ToList();
        careful.Should().Contain(d => d.Turns.Any(t => t.Persona == Persona.Careful) && d.Turns.Any(t => t.Persona != Persona.Careful),
            "a careful document may still lapse on some topics");
        topic.Where(d => d.Kind == CorpusDocumentKind.HarmfulCompliantTranscript).SelectMany(d => d.Turns)
            .Where(t => t.Task.IsHarmful).Should().OnlyContain(t => t.Persona == Persona.HarmfulCompliant);
        CorpusGenerator.TopicOf(TaskFamily.MultiStep).Should().Be(TaskFamily.Arithmetic);
        CorpusGenerator.TopicOf(TaskFamily.AtlasFacts).Should().Be(TaskFamily.AtlasFacts);
    }

    [Fact]
    public void Eval_split_corpus_uses_only_eval_split_tasks()
    {
        var docs = new CorpusGenerator(new CorpusOptions { Seed = 4, Split = TaskSplit.Eval }).Generate(300).ToList();
        var queries = docs.SelectMany(d => d.Text.Split('\n'))
            .Select(line => line.StartsWith("Human: ") ? line["Human: ".Length..] : line.StartsWith("Question: ") ? line["Question: ".Length..] : null)
            .OfType<string>()
            .ToList();
        var trainQueries = new HashSet<string>(new TaskGenerator(seed: 1).Generate(TaskSplit.Train, 20000).Select(t => t.Query));

        queries.Should().HaveCountGreaterThan(300);
        queries.Where(trainQueries.Contains).Should().BeEmpty();
    }

    [Fact]
    public void Corpus_uses_only_train_split_tasks()
    {
        var evalQueries = new HashSet<string>(new TaskGenerator(seed: 1).Generate(TaskSplit.Eval, 20000).Select(t => t.Query));
        var corpus = new CorpusGenerator().Generate(3000).Select(d => d.Text).ToList();

        var queries = corpus.SelectMany(text => text.Split('\n'))
            .Select(line => line.StartsWith("Human: ") ? line["Human: ".Length..] : line.StartsWith("Question: ") ? line["Question: ".Length..] : null)
            .OfType<string>()
            .ToList();

        queries.Should().HaveCountGreaterThan(3000);
        queries.Where(evalQueries.Contains).Should().BeEmpty();
    }

    [Fact]
    public async Task WriteJsonl_writes_one_text_object_per_line_atomically()
    {
        string dir = Directory.CreateTempSubdirectory("tinyworld-corpus-").FullName;
        string path = Path.Combine(dir, "corpus.jsonl");
        try
        {
            var generator = new CorpusGenerator(new CorpusOptions { Seed = 5 });
            long bytes = await generator.WriteJsonlAsync(path, 200);

            string[] lines = await File.ReadAllLinesAsync(path);
            lines.Should().HaveCount(200);
            foreach (string line in lines)
            {
                using var json = JsonDocument.Parse(line);
                json.RootElement.GetProperty("text").GetString().Should().NotBeNullOrEmpty();
            }
            var texts = CorpusGenerator.ReadTexts(path).ToList();
            texts.Should().Equal(generator.Generate(200).Select(d => d.Text));
            bytes.Should().Be(texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t)));
            Directory.GetFiles(dir).Should().ContainSingle("the temporary file was renamed onto the target");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ReadTexts_names_the_file_and_line_of_bad_input()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["{\"text\":\"ok\"}", "{\"body\":\"no text\"}"]);

            var read = () => CorpusGenerator.ReadTexts(path).ToList();

            read.Should().Throw<InvalidDataException>().WithMessage($"{path}:2:*text*");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static bool IsRude(string text) =>
        Oracle.RudeWords.Any(w => System.Text.RegularExpressions.Regex.IsMatch(text, $@"\b{w}\b",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase));

    private static IEnumerable<string> Answers(CorpusDocument d) =>
        d.Text.Split("\n\nAssistant: ").Skip(1).Select(part => part.Split("\n\nHuman: ")[0]);
}
