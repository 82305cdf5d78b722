using Almost.Checkpoints;
using Almost.Models.Llama;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

public sealed class LlamaCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-llama-ckpt-").FullName;
    private static readonly long[] Sequence = [1, 9, 33, 4, 17, 2, 50];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelOptions Cpu(ScalarType dtype = ScalarType.Float32) => new() { Device = "cpu", DType = dtype };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Save_then_load_gives_identical_logits(bool tied)
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama(tied));
        model.SavePretrained(_dir);
        File.Exists(Path.Combine(_dir, "config.json")).Should().BeTrue();
        File.Exists(Path.Combine(_dir, "model.safetensors")).Should().BeTrue();
        using var loaded = LlamaForCausalLM.FromPretrained(_dir, Cpu());
        using var ids = tensor(Sequence).unsqueeze(0);
        using var a = model.Logits(ids);
        using var b = loaded.Logits(ids);
        a.eq(b).all().item<bool>().Should().BeTrue();
        if (tied)
        {
            SafetensorsFile.ReadHeader(Path.Combine(_dir, "model.safetensors")).TryGetTensor("lm_head.weight", out _).Should().BeFalse();
        }
    }

    [Fact]
    public void Sharded_save_loads_back_identical()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        model.SavePretrained(_dir, maxShardBytes: 8_000);
        File.Exists(Path.Combine(_dir, "model.safetensors.index.json")).Should().BeTrue();
        Directory.GetFiles(_dir, "model-*-of-*.safetensors").Length.Should().BeGreaterThan(2);
        using var loaded = LlamaForCausalLM.FromPretrained(_dir, Cpu());
        using var ids = tensor(Sequence).unsqueeze(0);
        using var a = model.Logits(ids);
        using var b = loaded.Logits(ids);
        a.eq(b).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Bf16_file_loads_into_an_fp32_model_and_fp32_file_into_a_bf16_model()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        model.SavePretrained(_dir, dtype: ScalarType.BFloat16);
        LlamaConfig.Load(_dir).TorchDtype.Should().Be("bfloat16");
        SafetensorsFile.ReadHeader(Path.Combine(_dir, "model.safetensors")).Tensors.Should().OnlyContain(t => t.DType == "BF16");

        using var fp32 = LlamaForCausalLM.FromPretrained(_dir, Cpu());
        fp32.DType.Should().Be(ScalarType.Float32);
        fp32.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32);
        var original = model.state_dict()["model.layers.0.mlp.up_proj.weight"];
        var roundTripped = fp32.state_dict()["model.layers.0.mlp.up_proj.weight"];
        roundTripped.eq(original.to(ScalarType.BFloat16).to(ScalarType.Float32)).all().item<bool>().Should().BeTrue();

        using var bf16 = LlamaForCausalLM.FromPretrained(_dir, Cpu(ScalarType.BFloat16));
        bf16.parameters().Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
        using var ids = tensor(Sequence).unsqueeze(0);
        using var logits = bf16.Logits(ids);
        logits.dtype.Should().Be(ScalarType.Float32, "logits come out in fp32 whatever the weights");
    }

    [Fact]
    public void Checkpoint_of_another_architecture_lists_the_wrong_tensors()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        model.SavePretrained(_dir);
        // Claim a different layer count and KV-head count in config.json: tensors go missing or change shape.
        (TinyConfigs.Llama() with { NumHiddenLayers = 3, NumKeyValueHeads = 4 }).Save(_dir);
        var act = () => LlamaForCausalLM.FromPretrained(_dir, Cpu());
        act.Should().Throw<CheckpointException>()
            .WithMessage("*missing*model.layers.2.*")
            .WithMessage("*shape mismatch*k_proj*");
    }

    [Fact]
    public void Unknown_model_type_and_pickle_only_folders_are_refused()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type":"gpt_neox","vocab_size":10}""");
        var unknown = () => LlamaForCausalLM.FromPretrained(_dir, Cpu());
        unknown.Should().Throw<InvalidDataException>().WithMessage("*gpt_neox*");

        TinyConfigs.Llama().Save(_dir);
        File.WriteAllBytes(Path.Combine(_dir, "pytorch_model.bin"), [0x80, 0x02]);
        var pickle = () => LlamaForCausalLM.FromPretrained(_dir, Cpu());
        pickle.Should().Throw<CheckpointException>().WithMessage("*pickle*");
    }
}
