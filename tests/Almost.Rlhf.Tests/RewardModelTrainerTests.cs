using System.Text.Json;
using System.Text.Json.Nodes;
using Almost.Data;
using Almost.Models.Llama;
using Almost.Rlhf.RewardModeling;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

public sealed class RewardModelTrainerTests
{
    private const int EndOfText = 256;

    /// <summary>A byte-level tokenizer (one id per byte, no merges) with BOS = EOS = PAD = &lt;|endoftext|&gt; as in TinyWorld.</summary>
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Characters[b].ToString(), b => b), [],
        new Dictionary<string, int> { ["<|endoftext|>"] = EndOfText }, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

    private static LlamaForSequenceClassification Model(long seed = 7, int maxPositions = 64) =>
        LlamaForSequenceClassification.Create(
            TinyModels.Config(maxPositions: maxPositions) with { VocabSize = 260, BosTokenId = EndOfText, EosTokenIds = [EndOfText], PadTokenId = EndOfText },
            new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = seed });

    /// <summary>Separable pairs: the chosen answer ends with '.', the rejected one with '?', bodies of random letters.</summary>
    private static List<PreferenceRecord> Separable(int count, int seed)
    {
        var random = new Random(seed);
        string Word(int length) => new(Enumerable.Range(0, length).Select(_ => (char)('a' + random.Next(26))).ToArray());
        return Enumerable.Range(0, count).Select(_ => new PreferenceRecord
        {
            Prompt = $"\n\nHuman: {Word(4)}\n\nAssistant:",
            Chosen = $" {Word(1 + random.Next(6))}.",
            Rejected = $" {Word(1 + random.Next(6))}?",
        }).ToList();
    }

    private static RewardModelTrainingOptions Options(string dir) => new()
    {
        OutputDir = dir, LearningRate = 3e-3, PerDeviceBatchSize = 8, Epochs = 6, LoggingSteps = 1, WarmupSteps = 2,
        SaveSteps = 0, EvalSteps = 12,
    };

    [Fact]
    public async Task Loss_falls_and_accuracy_reaches_100_percent_on_a_separable_set()
    {
        using var dir = new TempFolder();
        using var model = Model();
        var trainer = new RewardModelTrainer(model, Tokenizer, Separable(64, seed: 1), Options(dir.Path), evalPairs: Separable(32, seed: 2));

        var result = await trainer.TrainAsync();

        var lines = File.ReadAllLines(dir["metrics.jsonl"]).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var first = lines[0]["loss"]!.GetValue<double>();
        var last = lines.TakeLast(3).Average(l => l["loss"]!.GetValue<double>());
        first.Should().BeInRange(0.6, 0.8, "an untrained reward model is near ln 2 = 0.69");
        last.Should().BeLessThan(0.1);
        lines.TakeLast(3).Should().OnlyContain(l => l["accuracy"]!.GetValue<double>() == 1.0);
        lines.Count(l => l.ContainsKey("eval_accuracy")).Should().Be(4, "evaluated every 12 of 48 steps");
        result.EvalMetrics!["accuracy"].Should().Be(1.0, "held-out pairs of the same rule are ordered too");
        result.EvalMetrics["margin"].Should().BeGreaterThan(2);
        result.EvalMetrics["chosen_reward"].Should().BeGreaterThan(result.EvalMetrics["rejected_reward"]);
        result.EvalLoss.Should().Be(result.EvalMetrics["loss"]);
    }

    [Fact]
    public async Task The_saved_model_carries_the_training_set_reward_mean_and_std()
    {
        using var dir = new TempFolder();
        using var model = Model();
        var pairs = Separable(16, seed: 3);
        var trainer = new RewardModelTrainer(model, Tokenizer, pairs, Options(dir.Path) with { Epochs = 1, EvalSteps = 0 });

        await trainer.TrainAsync();

        var scores = await new RewardModel(model, Tokenizer).ScoreAsync(
            pairs.SelectMany(p => new[] { new RewardModelInput(p.Prompt, p.Chosen), new RewardModelInput(p.Prompt, p.Rejected) }).ToArray());
        var mean = scores.Average();
        var std = Math.Sqrt(scores.Average(s => (s - mean) * (s - mean)));
        model.Normalization!.Mean.Should().BeApproximately(mean, 1e-6);
        model.Normalization.Std.Should().BeApproximately(std, 1e-6);
        using var loaded = LlamaForSequenceClassification.FromPretrained(dir.Path, new ModelOptions { Device = "cpu" });
        loaded.Normalization.Should().Be(model.Normalization);
        var normalised = await new RewardModel(loaded, Tokenizer, new RewardModelOptions { Normalize = true }).ScoreAsync(
            pairs.SelectMany(p => new[] { new RewardModelInput(p.Prompt, p.Chosen), new RewardModelInput(p.Prompt, p.Rejected) }).ToArray());
        normalised.Average().Should().BeApproximately(0, 1e-5);
    }

    [Fact]
    public async Task Resume_after_cancellation_reproduces_the_uninterrupted_losses_and_weights()
    {
        // 20 pairs, batch 4 × accumulation 2: 5 micro-batches = 3 steps per epoch (the last one short), 3 epochs = 9 steps.
        var pairs = Separable(20, seed: 4);
        RewardModelTrainingOptions ResumeOptions(string dir, bool resume) => new()
        {
            OutputDir = dir, LearningRate = 3e-3, WeightDecay = 0.1, PerDeviceBatchSize = 4, GradientAccumulationSteps = 2,
            Epochs = 3, LoggingSteps = 1, SaveSteps = 2, WarmupSteps = 2, ResumeFromCheckpoint = resume, Seed = 5,
            CenterRewardsCoefficient = 0.01,
        };

        using var dirA = new TempFolder();
        using var modelA = Model();
        await new RewardModelTrainer(modelA, Tokenizer, pairs, ResumeOptions(dirA.Path, resume: false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var cancelAfter = new SyncProgress(p =>
        {
            if (p.Step == 5)
            {
                cts.Cancel();
            }
        });
        using var modelB = Model();
        var interrupted = () => new RewardModelTrainer(modelB, Tokenizer, pairs, ResumeOptions(dirB.Path, resume: false)).TrainAsync(cancelAfter, cts.Token);
        await interrupted.Should().ThrowAsync<OperationCanceledException>();
        TrainingCheckpoints.ListComplete(dirB.Path).Select(c => c.Step).Should().Equal(2L, 4L, 5L);

        using var modelC = Model(seed: 99); // different initial weights: the checkpoint must overwrite them
        var result = await new RewardModelTrainer(modelC, Tokenizer, pairs, ResumeOptions(dirB.Path, resume: true)).TrainAsync();

        result.ResumedFromStep.Should().Be(5);
        var a = Metrics.Read(dirA.Path);
        var b = Metrics.Read(dirB.Path);
        b.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 9).Select(i => (long)i));
        b.Select(r => r.Loss).Should().Equal(a.Select(r => r.Loss), "resumed losses are bitwise those of the uninterrupted run");
        foreach (var (name, parameter) in modelA.named_parameters())
        {
            parameter.eq(modelC.get_parameter(name)!).all().item<bool>().Should().BeTrue($"{name} must be bitwise equal");
        }

        modelC.Normalization.Should().Be(modelA.Normalization);
    }

    [Fact]
    public void Chosen_and_rejected_go_through_the_model_in_one_batch_and_the_loss_is_bradley_terry()
    {
        using var model = Model();
        RewardModelPair[] pairs =
        [
            new([EndOfText, 10, 20, 30, 40], [EndOfText, 10, 21], Margin: 0.5),
            new([EndOfText, 11, 12], [EndOfText, 13, 14, 15, 16, 17, 18]),
        ];

        using var batch = RewardModelPairBatch.Collate(pairs, EndOfText, model.Device);
        batch.Sequences.InputIds.shape.Should().Equal(4, 7);
        batch.LossUnits.Should().Be(2);
        batch.InputTokens.Should().Be(5 + 3 + 3 + 7);
        var rows = batch.Sequences.InputIds.data<long>().ToArray();
        rows.Skip(2).Take(5).Should().Equal([EndOfText, 10, 20, 30, 40], "row 0 is pair 0's chosen side, left-padded");
        rows.Skip(21).Take(7).Should().Equal([EndOfText, 13, 14, 15, 16, 17, 18], "row 3 is pair 1's rejected side");

        var output = BradleyTerryLoss.Compute(model, batch, centeringCoefficient: 0.1);

        double Alone(int[] ids)
        {
            using var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            using var reward = model.forward(input);
            return reward.item<float>();
        }

        double c0 = Alone(pairs[0].Chosen), r0 = Alone(pairs[0].Rejected), c1 = Alone(pairs[1].Chosen), r1 = Alone(pairs[1].Rejected);
        static double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        var expected = Softplus(-(c0 - r0 - 0.5)) + Softplus(-(c1 - r1)) + (0.1 * (Math.Pow(c0 + r0, 2) + Math.Pow(c1 + r1, 2)));
        output.LossSum.item<float>().Should().BeApproximately((float)expected, 1e-5f);
        output.Metrics![BradleyTerryLoss.Margin].Sum.item<float>().Should().BeApproximately((float)(c0 - r0 + c1 - r1), 1e-5f);
        output.Metrics[BradleyTerryLoss.Accuracy].Sum.item<float>().Should().Be((c0 > r0 ? 1 : 0) + (c1 > r1 ? 1 : 0));
        output.Metrics[BradleyTerryLoss.ChosenReward].Count.Should().Be(2);
    }

    [Fact]
    public void Truncation_cuts_the_prompt_from_the_left_and_keeps_the_whole_response()
    {
        using var dir = new TempFolder();
        using var model = Model();
        var longPrompt = new PreferenceRecord { Prompt = "\n\nHuman: " + new string('x', 40) + "\n\nAssistant:", Chosen = " good answer.", Rejected = " bad?" };
        var shortPrompt = new PreferenceRecord { Prompt = "\n\nHuman: hi\n\nAssistant:", Chosen = " ok.", Rejected = " no?" };

        var trainer = new RewardModelTrainer(model, Tokenizer, [longPrompt, shortPrompt], Options(dir.Path) with { MaxLength = 32 });

        var chosen = trainer.TrainDataset[0].Chosen;
        chosen.Should().HaveCount(32);
        chosen[0].Should().Be(EndOfText, "BOS stays");
        Tokenizer.Decode(chosen[1..]).Should().EndWith("\n\nAssistant: good answer.").And.StartWith("x");
        trainer.TrainDataset[0].Rejected.Should().HaveCount(32);
        trainer.TrainDataset.TruncatedPairs.Should().Be(1);
        trainer.TrainDataset[1].Chosen.Should().Equal(trainer.Encoder.Encode(shortPrompt.Prompt, shortPrompt.Chosen));
        trainer.Encoder.AppendsEos.Should().BeFalse("EOS = PAD: the last response token is scored, as transformers pools");
    }

    [Fact]
    public void A_per_pair_margin_is_read_from_the_margin_field()
    {
        using var dir = new TempFolder();
        using var model = Model();
        var record = JsonSerializer.Deserialize<PreferenceRecord>("""{"prompt":"p","chosen":" a.","rejected":" b?","margin":1.5}""", JsonlDefaults.SerializerOptions)!;
        var bad = JsonSerializer.Deserialize<PreferenceRecord>("""{"prompt":"p","chosen":" a.","rejected":" b?","margin":"big"}""", JsonlDefaults.SerializerOptions)!;

        new RewardModelTrainer(model, Tokenizer, [record], Options(dir.Path)).TrainDataset[0].Margin.Should().Be(1.5);
        var act = () => new RewardModelTrainer(model, Tokenizer, [record, bad], Options(dir.Path));
        act.Should().Throw<ArgumentException>().WithMessage("Record 1 of the training set: field 'margin' is \"big\"; expected a finite number.*");
    }

    [Fact]
    public void Bad_input_gets_exceptions_that_name_the_problem()
    {
        using var dir = new TempFolder();
        using var model = Model();
        using var smallVocab = LlamaForSequenceClassification.Create(TinyModels.Config(), new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });

        var empty = () => new RewardModelTrainer(model, Tokenizer, [], Options(dir.Path));
        empty.Should().Throw<ArgumentException>().WithMessage("*no pairs*");

        var outside = () => new RewardModelTrainer(smallVocab, Tokenizer, Separable(2, seed: 5), Options(dir.Path));
        outside.Should().Throw<ArgumentException>().WithMessage("Record 0 of the training set: the chosen sequence has token id * outside the model's vocabulary of 64.*");

        var padOnly = () => new RewardModelTrainer(model, Tokenizer, [new PreferenceRecord { Prompt = "", Chosen = "<|endoftext|>", Rejected = "x" }], Options(dir.Path));
        padOnly.Should().Throw<ArgumentException>().WithMessage("Record 0 of the training set: prompt + response encodes to no token that is not padding*");

        var tooLong = () => new RewardModelTrainer(model, Tokenizer, Separable(2, seed: 5), Options(dir.Path) with { MaxLength = 65 });
        tooLong.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*max_position_embeddings (64)*");

        var badOption = () => new RewardModelTrainer(model, Tokenizer, Separable(2, seed: 5), Options(dir.Path) with { CenterRewardsCoefficient = -1 });
        badOption.Should().Throw<ArgumentException>().WithMessage("*CenterRewardsCoefficient*");
    }
}
