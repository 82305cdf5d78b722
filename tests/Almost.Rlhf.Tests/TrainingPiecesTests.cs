using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using FluentAssertions;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

public class TrainingPiecesTests
{
    [Fact]
    public void Learning_rate_warms_up_linearly_then_follows_cosine_to_the_minimum()
    {
        const double peak = 1e-3;
        double Cosine(long step) => LearningRateSchedule.At(step, totalSteps: 110, warmupSteps: 10, peak, LrSchedulerType.Cosine, minRatio: 0.1);

        Cosine(0).Should().BeApproximately(1e-4, 1e-12, "the first step already moves: peak · 1/W");
        Cosine(4).Should().BeApproximately(5e-4, 1e-12);
        Cosine(9).Should().BeApproximately(peak, 1e-12, "warm-up ends at the peak");
        Cosine(10).Should().BeApproximately(peak, 1e-12);
        Cosine(60).Should().BeApproximately((peak + 1e-4) / 2, 1e-12, "half-way through the decay is half-way between peak and min");
        Cosine(35).Should().BeApproximately(1e-4 + (0.9e-3 * 0.5 * (1 + Math.Cos(Math.PI / 4))), 1e-12);
        Cosine(110).Should().BeApproximately(1e-4, 1e-12, "the decay ends at min = 0.1 · peak");
        LearningRateSchedule.At(60, 110, 10, peak, LrSchedulerType.Linear, 0).Should().BeApproximately(peak / 2, 1e-12);
        LearningRateSchedule.At(100, 110, 10, peak, LrSchedulerType.Constant, 0).Should().Be(peak);
        LearningRateSchedule.WarmupSteps(new TrainingOptions { OutputDir = "x", WarmupRatio = 0.03 }, 100).Should().Be(3);
    }

    [Fact]
    public void Biases_and_norm_weights_are_in_the_group_without_weight_decay()
    {
        var model = TinyModels.Create(TinyModels.Config(modelType: "qwen2")); // qwen2: q/k/v projections have biases
        using var optimizer = AdamWOptimizer.Create(model, new TrainingOptions { OutputDir = "x", WeightDecay = 0.1 });

        var groups = optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        groups.Should().HaveCount(2);
        groups[0].Options.weight_decay.Should().Be(0.1);
        groups[1].Options.weight_decay.Should().Be(0.0);
        var handles = groups.Select(g => g.Parameters.Select(p => p.Handle).ToHashSet()).ToList();
        var names = model.named_parameters().ToList();
        var notDecayed = names.Where(p => handles[1].Contains(p.parameter.Handle)).Select(p => p.name).ToList();
        notDecayed.Should().Contain("model.layers.0.self_attn.q_proj.bias")
            .And.Contain("model.layers.1.post_attention_layernorm.weight")
            .And.Contain("model.norm.weight")
            .And.OnlyContain(n => n.EndsWith(".bias") || n.Contains("norm"));
        names.Where(p => handles[0].Contains(p.parameter.Handle)).Select(p => p.name).Should()
            .Contain("model.embed_tokens.weight").And.Contain("model.layers.0.mlp.gate_proj.weight")
            .And.NotContain(n => n.EndsWith(".bias") || n.Contains("norm"));
        (handles[0].Count + handles[1].Count).Should().Be(names.Count);
    }

    [Fact]
    public void Masked_out_targets_contribute_no_loss_and_no_gradient()
    {
        var model = TinyModels.Create();
        bool[] mask = [false, false, true, true, true, false, false, false];   // loss on tokens 2..4 only
        var original = new CausalLmExample([5, 6, 7, 8, 9, 10, 11, 12], mask);
        var changedMasked = new CausalLmExample([5, 6, 7, 8, 9, 40, 41, 42], mask); // only masked-out tokens differ (after the loss)
        var changedKept = new CausalLmExample([5, 6, 7, 30, 9, 10, 11, 12], mask);  // a target with loss differs
        var padding = new CausalLmExample([3, 4, 5]);

        (double Loss, Tensor Grad, long Units) LossAndGrad(CausalLmExample example)
        {
            model.zero_grad();
            using var batch = CausalLmBatch.Collate([example, padding], padTokenId: 0, CPU);
            var loss = CausalLmLoss.Sum(model, batch);
            loss.backward();
            return (loss.item<float>(), model.get_parameter("model.embed_tokens.weight")!.grad!.clone(), batch.LossUnits);
        }

        var a = LossAndGrad(original);
        var b = LossAndGrad(changedMasked);
        var c = LossAndGrad(changedKept);

        a.Units.Should().Be(3 + 2, "3 masked-in targets in the example, 2 in the unmasked padding example");
        b.Loss.Should().Be(a.Loss);
        a.Grad.eq(b.Grad).all().item<bool>().Should().BeTrue("masked-out targets send no gradient");
        c.Loss.Should().NotBe(a.Loss, "a masked-in target does count");
    }

    [Fact]
    public async Task SaveTotalLimit_keeps_the_newest_checkpoints_and_each_has_model_optimizer_and_state()
    {
        using var dir = new TempFolder();
        await new CausalLmTrainer(TinyModels.Create(), ToyData.VariedLengths(6), new CausalLmTrainingOptions
        {
            OutputDir = dir.Path, PerDeviceBatchSize = 2, MaxSteps = 7, SaveSteps = 1, SaveTotalLimit = 2, LoggingSteps = 1,
        }).TrainAsync();

        Directory.GetDirectories(dir.Path).Select(Path.GetFileName).Should().BeEquivalentTo("checkpoint-5", "checkpoint-6");
        var latest = TrainingCheckpoints.FindLatest(dir.Path)!;
        Path.GetFileName(latest).Should().Be("checkpoint-6");
        File.Exists(Path.Combine(latest, "config.json")).Should().BeTrue();
        File.Exists(Path.Combine(latest, "model.safetensors")).Should().BeTrue();
        File.Exists(Path.Combine(latest, TrainingCheckpoints.OptimizerFileName)).Should().BeTrue();
        var state = TrainingCheckpoints.ReadState(latest);
        state.GlobalStep.Should().Be(6);
        state.TotalSteps.Should().Be(7);
        (state.Epoch, state.StepInEpoch).Should().Be((2L, 0L), "3 micro-batches of 2 = 3 steps per epoch");
    }

    [Fact]
    public async Task Incomplete_checkpoints_are_ignored_on_resume()
    {
        using var dir = new TempFolder();
        var data = ToyData.VariedLengths(6);
        CausalLmTrainingOptions Options(bool resume) => new()
        {
            OutputDir = dir.Path, PerDeviceBatchSize = 2, MaxSteps = 6, SaveSteps = 3, LoggingSteps = 1, ResumeFromCheckpoint = resume,
        };
        using var cts = new CancellationTokenSource();
        var run = () => new CausalLmTrainer(TinyModels.Create(), data, Options(false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 4) { cts.Cancel(); } }), cts.Token);
        await run.Should().ThrowAsync<OperationCanceledException>();

        // A crash while writing step 5 (a .tmp folder), and a folder of a checkpoint missing its completion marker.
        Directory.CreateDirectory(dir["checkpoint-5.tmp"]);
        File.WriteAllText(Path.Combine(dir["checkpoint-5.tmp"], TrainingCheckpoints.StateFileName), "{}");
        Directory.CreateDirectory(dir["checkpoint-9"]);
        File.WriteAllText(Path.Combine(dir["checkpoint-9"], "model.safetensors"), "torn");

        Path.GetFileName(TrainingCheckpoints.FindLatest(dir.Path)).Should().Be("checkpoint-4");
        var result = await new CausalLmTrainer(TinyModels.Create(), data, Options(true)).TrainAsync();

        result.ResumedFromStep.Should().Be(4);
        result.GlobalStep.Should().Be(6);
        Directory.Exists(dir["checkpoint-5.tmp"]).Should().BeFalse("leftovers of a crash are cleaned up");
        Metrics.Read(dir.Path).Select(r => r.Step).Should().Equal(1L, 2L, 3L, 4L, 5L, 6L);
    }
}
