using Almost.Models.Llama;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

public sealed class LlamaForwardTests
{
    private static readonly int[] Sequence = [1, 17, 42, 5, 63, 8, 23, 9, 31, 2];

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("qwen2", false)]
    [InlineData("mistral", true)]
    public void Forward_matches_loop_based_reference_within_1e_4(string modelType, bool tied)
    {
        var config = TinyConfigs.Llama(tied, modelType);
        using var model = TinyConfigs.Create(config);
        if (config.QkvBias)
        {
            // Qwen2 has q/k/v biases, initialised to zero; make them non-zero so the test covers them.
            using var noGrad = no_grad();
            foreach (var (name, p) in model.named_parameters().Where(n => n.name.EndsWith(".bias")))
            {
                p.copy_(randn(p.shape, generator: new Generator(3)) * 0.3);
            }
        }

        using var ids = tensor(Sequence.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var logits = model.Logits(ids);
        var expected = new ReferenceLlama(model).Forward(Sequence);
        var actual = logits.squeeze(0).data<float>().ToArray();
        var maxDiff = 0.0;
        for (var t = 0; t < Sequence.Length; t++)
        {
            for (var v = 0; v < config.VocabSize; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[t * config.VocabSize + v] - expected[t][v]));
            }
        }

        maxDiff.Should().BeLessThan(1e-4);
        // The logits must not be trivially small, or the tolerance would prove nothing.
        expected.SelectMany(r => r).Max(Math.Abs).Should().BeGreaterThan(0.5);
    }

    [Fact]
    public void State_dict_keys_are_the_hugging_face_names()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        var keys = model.state_dict().Keys.ToHashSet();
        keys.Should().Contain(
        [
            "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
            "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight",
        ]);
        keys.Should().HaveCount(3 + 2 * 9);
        model.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape.Should().Equal(16, 32);
    }

    [Fact]
    public void Tied_model_has_no_lm_head_and_qwen2_has_qkv_bias()
    {
        using var tied = TinyConfigs.Create(TinyConfigs.Llama(tied: true));
        tied.state_dict().Keys.Should().NotContain("lm_head.weight");
        using var qwen = TinyConfigs.Create(TinyConfigs.Llama(modelType: "qwen2"));
        qwen.state_dict().Keys.Should().Contain("model.layers.0.self_attn.q_proj.bias")
            .And.NotContain("model.layers.0.self_attn.o_proj.bias");
    }

    [Fact]
    public void Parameter_count_matches_the_config_formula()
    {
        foreach (var config in new[] { TinyConfigs.Llama(), TinyConfigs.Llama(true), TinyConfigs.Llama(false, "qwen2") })
        {
            using var model = TinyConfigs.Create(config);
            model.parameters().Sum(p => p.numel()).Should().Be(config.ParameterCount);
        }
    }

    [Fact]
    public void Same_seed_gives_identical_parameters_and_outputs_and_another_seed_does_not()
    {
        using var a = TinyConfigs.Create(TinyConfigs.Llama(), seed: 11);
        using var b = TinyConfigs.Create(TinyConfigs.Llama(), seed: 11);
        using var c = TinyConfigs.Create(TinyConfigs.Llama(), seed: 12);
        foreach (var (name, p) in a.named_parameters())
        {
            p.eq(b.state_dict()[name]).all().item<bool>().Should().BeTrue(name);
        }

        using var ids = tensor(Sequence.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var la = a.Logits(ids);
        using var lb = b.Logits(ids);
        using var lc = c.Logits(ids);
        la.eq(lb).all().item<bool>().Should().BeTrue();
        la.allclose(lc).Should().BeFalse();
    }

    [Fact]
    public void Token_log_probs_equal_log_softmax_of_the_logits_at_the_next_tokens()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var ids = tensor(Sequence.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var logits = model.Logits(ids);
        using var lp = model.TokenLogProbs(ids);
        lp.shape.Should().Equal(1, Sequence.Length - 1);
        var logProbs = logits.log_softmax(-1);
        for (var t = 0; t < Sequence.Length - 1; t++)
        {
            lp[0, t].item<float>().Should().BeApproximately(logProbs[0, t, Sequence[t + 1]].item<float>(), 1e-5f);
        }
    }

    [Fact]
    public void Hidden_states_are_exposed_for_heads()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var ids = tensor(Sequence.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var hidden = model.HiddenStates(ids);
        hidden.shape.Should().Equal(1, Sequence.Length, 32);
        using var projected = model.Project(hidden);
        using var logits = model.Logits(ids);
        projected.allclose(logits, rtol: 0, atol: 1e-6).Should().BeTrue();
    }
}
