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

    private static string ZooFolder
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Almost.sln")))
            {
                directory = directory.Parent;
            }
            directory.Should().NotBeNull("the tests run inside the repository");
            return Path.Combine(directory!.FullName, "samples", "Almost.TinyWorld", "zoo");
        }
    }

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
        new ZooCorpusOptions().Should().Match<ZooCorpusOptions>(o => o.MinTurns == 2 && o.MaxTurns == 5);
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
