using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Models.Llama;
using Almost.Models.Lora;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Sft;
using Almost.Rlhf.Training;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

/// <summary>
/// Training with <see cref="CausalLmTrainingOptions.Lora"/> / <see cref="SftTrainingOptions.Lora"/>: only the adapted
/// projections move, by exactly the saved adapter's update; the output is a plain model plus the adapter in PEFT's
/// layout; checkpoints hold the adapter and resume exactly.
/// </summary>
public class LoraTrainingTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");

    private static readonly LoraOptions Lora = new() { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "up_proj", "down_proj"] };

    private static double MaxDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    [Fact]
    public async Task Sft_with_lora_moves_only_the_adapted_projections_by_the_saved_adapter_and_saves_a_plain_model()
    {
        using var dir = new TempFolder();
        // A larger init than 0.02: with lm_head and the norms frozen, logits of an N(0, 0.02) head cannot leave uniform.
        var config = TinyModels.Config(maxPositions: 64) with { VocabSize = 280, InitializerRange = 0.3 };
        using var model = TinyModels.Create(config);
        var start = Weights.Snapshot(model);
        var dialogues = Enumerable.Range(0, 8).Select(i => new ConversationRecord
        {
            Messages = [ChatMessage.User(i % 2 == 0 ? "Hello" : "the world"), ChatMessage.Assistant(i % 3 == 0 ? "Hello world." : "in the world.")],
        }).ToList();

        var result = await new SftTrainer(model, Tokenizer, dialogues, new SftTrainingOptions
        {
            OutputDir = dir.Path, LearningRate = 3e-2, PerDeviceBatchSize = 4, MaxSteps = 40, LoggingSteps = 1, SaveSteps = 0, Seed = 3, Lora = Lora,
        }).TrainAsync();

        var losses = Metrics.Read(dir.Path);
        losses.TakeLast(3).Average(r => r.Loss).Should().BeLessThan(losses.Take(3).Average(r => r.Loss) * 0.7, "the adapter learns");
        model.Model.Adapter.Should().BeNull("the end of training merges the adapter");
        model.parameters().Should().OnlyContain(p => p.requires_grad);
        File.Exists(Path.Combine(dir.Path, "model.safetensors")).Should().BeTrue();
        File.Exists(Path.Combine(dir.Path, LoraAdapter.ConfigFileName)).Should().BeFalse("the output folder is a plain model, not an adapter");
        var adapterFolder = Path.Combine(dir.Path, CausalLmTrainer.AdapterFolderName);
        File.Exists(Path.Combine(adapterFolder, LoraAdapter.WeightsFileName)).Should().BeTrue();

        // Expected: the start model with the saved adapter merged, computed independently of the trained model.
        using var expected = TinyModels.Create(config);
        using (var saved = LoraAdapter.FromPretrained(adapterFolder, expected))
        {
            saved.Options.Should().BeEquivalentTo(Lora);
            saved.Merge();
        }

        using var reloaded = LlamaForCausalLM.FromPretrained(dir.Path, new ModelOptions { Device = "cpu" });
        var adapted = new[] { "self_attn.q_proj", "self_attn.v_proj", "mlp.up_proj", "mlp.down_proj" };
        foreach (var (name, parameter) in model.named_parameters())
        {
            reloaded.get_parameter(name)!.eq(parameter).all().item<bool>().Should().BeTrue($"{name}: the saved model is the trained one");
            if (adapted.Any(a => name.Contains(a, StringComparison.Ordinal)))
            {
                MaxDiff(parameter, start[name]).Should().BeGreaterThan(0, $"{name} is adapted");
                MaxDiff(parameter, expected.get_parameter(name)!).Should().BeLessThan(1e-6, $"{name} = W + (alpha/r) B A of the saved adapter");
            }
            else
            {
                parameter.eq(start[name]).all().item<bool>().Should().BeTrue($"{name} is frozen");
            }
        }

        result.GlobalStep.Should().Be(40);
    }

    [Fact]
    public async Task Lora_resume_after_cancellation_reproduces_the_uninterrupted_run()
    {
        var data = ToyData.VariedLengths(10);
        CausalLmTrainingOptions Options(string dir, bool resume) => new()
        {
            OutputDir = dir, LearningRate = 5e-3, PerDeviceBatchSize = 2, Epochs = 3, LoggingSteps = 1, SaveSteps = 4,
            WarmupSteps = 2, ResumeFromCheckpoint = resume, Seed = 3, Lora = Lora,
        };

        using var dirA = new TempFolder();
        using var modelA = TinyModels.Create();
        await new CausalLmTrainer(modelA, data, Options(dirA.Path, resume: false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var cancelAfter = new SyncProgress(p =>
        {
            if (p.Step == 6)
            {
                cts.Cancel();
            }
        });
        using var modelB = TinyModels.Create();
        var interrupted = () => new CausalLmTrainer(modelB, data, Options(dirB.Path, resume: false)).TrainAsync(cancelAfter, cts.Token);
        await interrupted.Should().ThrowAsync<OperationCanceledException>();
        modelB.Model.Adapter.Should().BeNull("a run that stops detaches its adapter");
        var checkpoint = TrainingCheckpoints.ListComplete(dirB.Path).Last();
        checkpoint.Step.Should().Be(6);
        File.Exists(Path.Combine(checkpoint.Folder, LoraAdapter.WeightsFileName)).Should().BeTrue("a LoRA checkpoint holds the adapter");
        File.Exists(Path.Combine(checkpoint.Folder, "model.safetensors")).Should().BeFalse("the frozen base is not copied into every checkpoint");

        using var otherRank = TinyModels.Create();
        var changed = () => new CausalLmTrainer(otherRank, data, Options(dirB.Path, resume: true) with { Lora = Lora with { Rank = 2 } }).TrainAsync();
        (await changed.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*made with lora.rank = 4, but this run has 2*");
        otherRank.Model.Adapter.Should().BeNull();

        using var modelC = TinyModels.Create();   // the same start model: a LoRA checkpoint holds the adapter only
        var result = await new CausalLmTrainer(modelC, data, Options(dirB.Path, resume: true)).TrainAsync();

        result.ResumedFromStep.Should().Be(6);
        Metrics.Read(dirB.Path).Select(r => r.Loss).Should().Equal(Metrics.Read(dirA.Path).Select(r => r.Loss), "resumed losses are bitwise those of the uninterrupted run");
        foreach (var (name, parameter) in modelA.named_parameters())
        {
            parameter.eq(modelC.get_parameter(name)!).all().item<bool>().Should().BeTrue($"{name} must be bitwise equal");
        }
    }
}
