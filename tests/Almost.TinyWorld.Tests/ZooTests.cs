using Almost.Models.Llama;
using Almost.TinyWorld.Zoo;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary>The shipped zoo (<c>samples/Almost.TinyWorld/zoo</c>): its models, tokenizer and premise table.</summary>
public class ZooTests
{
    private static readonly string[] Sizes = ["tiny", "small", "base"];

    private static string ZooFolder => TinyWorldFiles.FindZoo();

    public static TheoryData<string> SizeNames => new(Sizes);

    [Theory]
    [MemberData(nameof(SizeNames))]
    public void Zoo_model_loads_and_reproduces_its_documented_check_loss(string size)
    {
        var manifest = ZooManifest.Load(ZooFolder);
        var entry = manifest.Models.Single(m => m.Size.Name == size);
        string folder = Path.Combine(ZooFolder, size);

        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = TorchSharp.torch.ScalarType.Float32 });
        var tokenizer = AlmostTokenizer.FromFolder(folder);
        double loss = ZooCorpus.MeanLoss(model, ZooCorpus.CheckBlocks(tokenizer, manifest.Corpus));

        model.Config.ParameterCount.Should().Be(entry.Parameters);
        model.Config.HiddenSize.Should().Be(entry.Size.HiddenSize);
        model.Config.NumHiddenLayers.Should().Be(entry.Size.Layers);
        model.Config.MaxPositionEmbeddings.Should().Be(512);
        model.Config.VocabSize.Should().Be(tokenizer.VocabSize);
        loss.Should().BeApproximately(entry.CheckLoss, 1e-4);
    }

    [Fact]
    public void Zoo_sizes_grow_saw_the_same_tokens_and_larger_models_have_lower_eval_loss()
    {
        var manifest = ZooManifest.Load(ZooFolder);

        manifest.Models.Select(m => m.Size.Name).Should().Equal(Sizes);
        manifest.Models.Select(m => m.Parameters).Should().BeInAscendingOrder();
        manifest.Models.Select(m => m.TokensSeen).Distinct().Should().ContainSingle();
        manifest.Models.Select(m => m.EvalLoss).Should().BeInDescendingOrder();
        manifest.MaxPositionEmbeddings.Should().Be(512);
    }

    [Fact]
    public void Zoo_tokenizer_loads_through_AlmostTokenizer_and_matches_the_trainer()
    {
        var manifest = ZooManifest.Load(ZooFolder);
        var trainTexts = ZooCorpus.TrainTexts(manifest.Corpus);
        var trained = new BpeTrainer(new BpeTrainerOptions { VocabSize = manifest.Corpus.VocabSize }).Train(trainTexts);
        var evalTexts = ZooCorpus.EvalTexts(manifest.Corpus).Take(50).ToList();

        foreach (string size in Sizes)
        {
            string folder = Path.Combine(ZooFolder, size);
            var tokenizer = AlmostTokenizer.FromFolder(folder);
            tokenizer.VocabSize.Should().Be(manifest.Corpus.VocabSize);
            tokenizer.EosTokenId.Should().Be(0);
            File.ReadLines(Path.Combine(folder, "merges.txt")).Skip(1)
                .Should().Equal(trained.Merges.Select(m => $"{m.Left} {m.Right}"), $"{size}'s merges are the trainer's");
            foreach (string text in evalTexts.Concat(trainTexts.Take(50)))
            {
                var ids = tokenizer.Encode(text);
                ids.Should().Equal(trained.Encode(text));
                tokenizer.Decode(ids).Should().Be(text);
            }
        }
    }

    [Fact]
    public void Zoo_corpus_options_set_the_transcript_length_of_both_corpora()
    {
        var options = new ZooCorpusOptions { TrainDocuments = 300, EvalDocuments = 300, MinTurns = 7, MaxTurns = 7 };

        foreach (var texts in new[] { ZooCorpus.TrainTexts(options), ZooCorpus.EvalTexts(options) })
        {
            var turnCounts = texts.Select(t => t.Split("\n\nHuman: ").Length - 1).Where(n => n > 0).ToList();
            turnCounts.Should().NotBeEmpty();
            turnCounts.Should().AllSatisfy(n => n.Should().Be(7));
        }
        new ZooCorpusOptions().Should().Match<ZooCorpusOptions>(o => o.MinTurns == 2 && o.MaxTurns == 8);
    }

    [Fact]
    public void Careful_likelihood_probe_matches_one_sequence_at_a_time_and_reads_the_demonstrations()
    {
        string folder = Path.Combine(ZooFolder, "tiny");
        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = TorchSharp.torch.ScalarType.Float32 });
        var tokenizer = AlmostTokenizer.FromFolder(folder);
        var evaluation = new PremiseEvaluation(new PremiseOptions { TaskCount = 60 });

        var cells = CarefulLikelihoodProbe.Measure(evaluation, "tiny", model, tokenizer, batchSize: 7);

        cells.Should().HaveCount(8);
        cells.Should().OnlyContain(c => c.MeanLogProb < 0 && c.Tasks == 60 && c.ByFamily.Count == 6);
        cells.Single(c => c.Shots == 0 && c.Demonstrations == "careful").MeanLogProb
            .Should().Be(cells.Single(c => c.Shots == 0 && c.Demonstrations == "sloppy").MeanLogProb, "0-shot prompts are the same");
        cells.Single(c => c.Shots == 1 && c.Demonstrations == "careful").MeanLogProb
            .Should().BeGreaterThan(cells.Single(c => c.Shots == 1 && c.Demonstrations == "sloppy").MeanLogProb + 0.1,
                "a careful demonstration makes the careful answer likelier than a sloppy one does");

        // Reference: each task alone, no padding, summed token by token.
        using var noGrad = TorchSharp.torch.no_grad();
        double expected = evaluation.Tasks.Select(task =>
        {
            var prompt = tokenizer.Encode(evaluation.Prompt(task, 3, Persona.Careful), addBos: true);
            var answer = tokenizer.Encode(" " + PersonaResponder.CarefulAnswer(task));
            using var ids = TorchSharp.torch.tensor(prompt.Concat(answer).Select(i => (long)i).ToArray()).unsqueeze(0);
            using var logProbs = model.TokenLogProbs(ids);
            float[] perToken = logProbs.data<float>().ToArray();   // (1, T-1): one host copy
            return Enumerable.Range(prompt.Length - 1, answer.Length).Sum(i => (double)perToken[i]);
        }).Average();
        cells.Single(c => c.Shots == 3 && c.Demonstrations == "careful").MeanLogProb.Should().BeApproximately(expected, 1e-3);
    }

    [Fact]
    public void Zoo_careful_share_sets_the_fraction_of_careful_transcripts_and_the_default_keeps_the_default_mix()
    {
        var defaults = ZooCorpus.CorpusOptionsOf(new ZooCorpusOptions { CarefulShare = 0.5 }, 1, TaskSplit.Train);
        defaults.Should().Be(new CorpusOptions { MinPersonaConsistency = 0.5, MaxTurns = 8 }, "a share of 0.5 is the default mix, bit for bit");
        new ZooCorpusOptions().CarefulShare.Should().Be(0.15);

        var rare = ZooCorpus.CorpusOptionsOf(new ZooCorpusOptions { CarefulShare = 0.15 }, 1, TaskSplit.Eval);
        (rare.Careful + rare.Sloppy + rare.Rude + rare.Evasive + rare.HarmfulCompliant).Should().BeApproximately(0.8, 1e-12);
        (rare.Careful / 0.8).Should().BeApproximately(0.15, 1e-12);
        (rare.Sloppy / rare.Rude).Should().BeApproximately(1.5, 1e-12, "the other kinds keep their proportions");
        rare.Split.Should().Be(TaskSplit.Eval);

        var kinds = new CorpusGenerator(rare).Generate(4000).Select(d => d.Kind).ToList();
        double transcripts = kinds.Count(k => k is not (CorpusDocumentKind.Encyclopedia or CorpusDocumentKind.WorkedExamples));
        (kinds.Count(k => k == CorpusDocumentKind.CarefulTranscript) / transcripts).Should().BeApproximately(0.15, 0.02);
        FluentActions.Invoking(() => ZooCorpus.CorpusOptionsOf(new ZooCorpusOptions { CarefulShare = 1 }, 1, TaskSplit.Train))
            .Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Pretraining_sample_is_the_first_knowledge_documents_of_the_zoo_corpus_and_asks_only_train_split_tasks()
    {
        var manifest = ZooManifest.Load(ZooFolder);
        var sample = await new TinyWorldFiles(ZooFolder).PretrainingSampleAsync();
        var expected = new CorpusGenerator(ZooCorpus.CorpusOptionsOf(manifest.Corpus, manifest.Corpus.Seed, TaskSplit.Train))
            .Generate(manifest.Corpus.TrainDocuments)
            .Where(d => d.Kind is CorpusDocumentKind.Encyclopedia or CorpusDocumentKind.WorkedExamples)
            .Take(sample.Count).Select(d => d.Text).ToList();

        sample.Should().HaveCount(600);
        sample.Select(r => r.Text).Should().Equal(expected);
        ZooCorpus.TrainTexts(manifest.Corpus).Take(2000).Should().Contain(sample[0].Text, "the sample is pretraining text, not new text");
        var parser = new TaskQueryParser();
        var questions = sample.SelectMany(r => r.Text.Split('\n')).Where(l => l.StartsWith("Question: ", StringComparison.Ordinal))
            .Select(l => parser.Parse(l["Question: ".Length..])).ToList();
        questions.Should().HaveCountGreaterThan(1000).And.OnlyContain(t => t != null && t.Split == TaskSplit.Train);
    }

    [Fact]
    public void Zoo_manifest_round_trips_its_corpus_options_with_readable_enum_names()
    {
        var manifest = ZooManifest.Load(ZooFolder) with
        {
            Corpus = new ZooCorpusOptions { LapseScope = PersonaLapseScope.Topic, MinPersonaConsistency = 0.25, MaxTurns = 8 },
        };
        string folder = Path.Combine(Path.GetTempPath(), $"zoo-{Guid.NewGuid():N}");
        try
        {
            manifest.Save(folder);
            File.ReadAllText(Path.Combine(folder, ZooManifest.FileName)).Should().Contain("\"lapse_scope\": \"topic\"");
            ZooManifest.Load(folder).Corpus.Should().Be(manifest.Corpus);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Premise_report_has_every_size_shots_and_quality_cell()
    {
        var report = PremiseReport.Load(Path.Combine(ZooFolder, "premise.json"));

        foreach (string size in Sizes)
        {
            foreach (int shots in PromptBuilder.StandardShots)
            {
                foreach (var quality in new[] { Persona.Careful, Persona.Sloppy })
                {
                    var cell = report.Cell(size, shots, quality);
                    cell.Tasks.Should().Be(report.Options.TaskCount);
                    cell.MeanScore.Should().BeInRange(0, 1);
                    cell.ByFamily.Keys.Should().BeEquivalentTo(Enum.GetNames<TaskFamily>());
                }
            }
        }
        report.Cells.Should().HaveCount(Sizes.Length * PromptBuilder.StandardShots.Count * 2);
    }
}
