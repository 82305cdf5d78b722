using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

public class CausalLmTrainerTests
{
    [Fact]
    public async Task Loss_decreases_on_a_learnable_counting_dataset()
    {
        using var dir = new TempFolder();
        var model = TinyModels.Create();
        var data = new CausalLmDataset(Enumerable.Range(0, 32).Select(i => ToyData.Counting(i * 3, 16)));
        var options = new CausalLmTrainingOptions
        {
            OutputDir = dir.Path, LearningRate = 1e-2, PerDeviceBatchSize = 8, MaxSteps = 30, LoggingSteps = 1,
            WarmupSteps = 3, SaveSteps = 0,
        };
        var trainer = new CausalLmTrainer(model, data, options, evalDataset: new CausalLmDataset([ToyData.Counting(5, 16)]));

        var result = await trainer.TrainAsync();

        var rows = Metrics.Read(dir.Path);
        rows.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 30).Select(i => (long)i));
        var first = rows.Take(3).Average(r => r.Loss);
        var last = rows.TakeLast(3).Average(r => r.Loss);
        first.Should().BeGreaterThan(3.5, "an untrained model is near ln(64) = 4.16");
        last.Should().BeLessThan(first * 0.5);
        result.EvalLoss.Should().NotBeNull().And.BeLessThan(first * 0.5);
        rows.Select(r => r.Lr).Should().Equal(Enumerable.Range(0, 30).Select(s => LearningRateSchedule.At(options, s, 30)));
        File.Exists(dir["config.json"]).Should().BeTrue();
        File.Exists(dir["model.safetensors"]).Should().BeTrue();
    }

    [Fact]
    public async Task Resume_after_cancellation_reproduces_the_uninterrupted_losses_and_weights()
    {
        // 10 examples, batch 2 × accumulation 2: 5 micro-batches = 3 steps per epoch (the last one short), 4 epochs = 12 steps.
        var data = ToyData.VariedLengths(10);
        CausalLmTrainingOptions Options(string dir, bool resume) => new()
        {
            OutputDir = dir, LearningRate = 5e-3, WeightDecay = 0.1, PerDeviceBatchSize = 2, GradientAccumulationSteps = 2,
            Epochs = 4, LoggingSteps = 1, SaveSteps = 4, WarmupSteps = 2, ResumeFromCheckpoint = resume, Seed = 3,
        };

        using var dirA = new TempFolder();
        var modelA = TinyModels.Create();
        await new CausalLmTrainer(modelA, data, Options(dirA.Path, resume: false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var cancelAfter = new SyncProgress(p =>
        {
            if (p.Step == 5)
            {
                cts.Cancel();
            }
        });
        var interrupted = () => new CausalLmTrainer(TinyModels.Create(), data, Options(dirB.Path, resume: false)).TrainAsync(cancelAfter, cts.Token);
        await interrupted.Should().ThrowAsync<OperationCanceledException>();
        TrainingCheckpoints.ListComplete(dirB.Path).Select(c => c.Step).Should().Equal(4L, 5L);

        var modelC = TinyModels.Create(seed: 99); // different initial weights: the checkpoint must overwrite them
        var result = await new CausalLmTrainer(modelC, data, Options(dirB.Path, resume: true)).TrainAsync();

        result.ResumedFromStep.Should().Be(5);
        var lossesA = Metrics.Read(dirA.Path);
        var lossesB = Metrics.Read(dirB.Path);
        lossesB.Select(r => r.Step).Should().Equal(Enumerable.Range(1, 12).Select(i => (long)i), "no step is logged twice");
        lossesB.Select(r => r.Loss).Should().Equal(lossesA.Select(r => r.Loss), "resumed losses are bitwise those of the uninterrupted run");
        foreach (var (name, parameter) in modelA.named_parameters())
        {
            var other = modelC.get_parameter(name);
            parameter.eq(other!).all().item<bool>().Should().BeTrue($"{name} must be bitwise equal");
        }
    }

    [Fact]
    public async Task Gradient_accumulation_matches_one_larger_batch()
    {
        // Lengths differ, so per-micro-batch means would weight tokens differently; normalising by all tokens of the step does not.
        var data = new CausalLmDataset(Enumerable.Range(0, 8).Select(i => ToyData.Counting(i * 5, 4 + (i * 3 % 11),
            mask: Enumerable.Range(0, 4 + (i * 3 % 11)).Select(t => t % 3 != 1).ToArray())));
        async Task<(List<double> Losses, LlamaForCausalLMWeights Weights)> Run(int batch, int accumulation)
        {
            using var dir = new TempFolder();
            var model = TinyModels.Create();
            await new CausalLmTrainer(model, data, new CausalLmTrainingOptions
            {
                OutputDir = dir.Path, LearningRate = 1e-2, PerDeviceBatchSize = batch, GradientAccumulationSteps = accumulation,
                Epochs = 2, LoggingSteps = 1, SaveSteps = 0, WarmupSteps = 0, MaxGradNorm = 0.5,
            }).TrainAsync();
            return (Metrics.Read(dir.Path).Select(r => r.Loss).ToList(), new LlamaForCausalLMWeights(Weights.Snapshot(model)));
        }

        var big = await Run(batch: 4, accumulation: 1);
        var accumulated = await Run(batch: 2, accumulation: 2);

        accumulated.Losses.Should().HaveCount(4);
        accumulated.Losses.Should().Equal(big.Losses, (a, b) => Math.Abs(a - b) < 1e-5);
        foreach (var (name, value) in big.Weights.Values)
        {
            allclose(value, accumulated.Weights.Values[name], rtol: 1e-4, atol: 1e-5).Should().BeTrue(name);
        }
    }

    [Fact]
    public void Bad_input_gets_exceptions_that_name_the_problem()
    {
        using var dir = new TempFolder();
        var model = TinyModels.Create(TinyModels.Config(maxPositions: 16));
        var options = new CausalLmTrainingOptions { OutputDir = dir.Path };

        var empty = () => new CausalLmTrainer(model, new CausalLmDataset([]), options);
        empty.Should().Throw<ArgumentException>().WithMessage("*training dataset is empty*");

        var tooLong = () => new CausalLmTrainer(model, new CausalLmDataset([ToyData.Counting(0, 8), ToyData.Counting(0, 17)]), options);
        tooLong.Should().Throw<ArgumentException>().WithMessage("*Example 1 of the training dataset has 17 tokens*max_position_embeddings (16)*");

        var outOfVocab = () => new CausalLmTrainer(model, new CausalLmDataset([new CausalLmExample([1, 2, 64])]), options);
        outOfVocab.Should().Throw<ArgumentException>().WithMessage("*token id 64 at position 2*vocabulary of 64*");

        var emptyEval = () => new CausalLmTrainer(model, ToyData.VariedLengths(2), options, new CausalLmDataset([]));
        emptyEval.Should().Throw<ArgumentException>().WithMessage("*evaluation dataset is empty*");

        var oneToken = () => new CausalLmDataset([new CausalLmExample([5])]);
        oneToken.Should().Throw<ArgumentException>().WithMessage("*Example 0 has 1 token(s)*at least 2*");

        var maskLength = () => new CausalLmDataset([new CausalLmExample([5, 6, 7], [true, false])]);
        maskLength.Should().Throw<ArgumentException>().WithMessage("*3 tokens but a loss mask of length 2*");

        var badBlock = () => CausalLmDataset.Pack([[5, 6, 7]], blockSize: 1, eosTokenId: 2);
        badBlock.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*BlockSize must be at least 2*");

        var tooFew = () => CausalLmDataset.Pack([[5, 6]], blockSize: 8, eosTokenId: 2);
        tooFew.Should().Throw<ArgumentException>().WithMessage("*3 tokens*fewer than one block of 8*");

        var badOption = () => new CausalLmTrainer(model, ToyData.VariedLengths(2), options with { GradientAccumulationSteps = 0 });
        badOption.Should().Throw<ArgumentException>().WithMessage("*GradientAccumulationSteps must be >= 1 (got 0)*");
    }

    [Fact]
    public void Packing_concatenates_documents_with_eos_and_cuts_whole_blocks()
    {
        int[][] docs = [[10, 11, 12], [20, 21], [30, 31, 32, 33]];

        var packed = CausalLmDataset.Pack(docs, blockSize: 4, eosTokenId: 2);

        // Stream: 10 11 12 2 | 20 21 2 30 | 31 32 33 2 — exactly 3 blocks.
        packed.Select(e => e.InputIds).Should().BeEquivalentTo(
            new[] { new[] { 10, 11, 12, 2 }, new[] { 20, 21, 2, 30 }, new[] { 31, 32, 33, 2 } },
            o => o.WithStrictOrdering());
        packed.Should().OnlyContain(e => e.LossMask == null);
        CausalLmDataset.Pack(docs, blockSize: 5, eosTokenId: 2).Should().HaveCount(2, "the 2-token tail is dropped");
    }
}

/// <summary>A named-weights snapshot (record wrapper so tuples stay readable).</summary>
internal sealed record LlamaForCausalLMWeights(Dictionary<string, Tensor> Values);
