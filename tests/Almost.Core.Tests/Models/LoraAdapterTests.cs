using System.Text.Json.Nodes;
using Almost.Checkpoints;
using Almost.Models.Llama;
using Almost.Models.Lora;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

/// <summary>
/// <see cref="LoraAdapter"/>: a fresh adapter changes nothing; a trained one computes <c>W + (alpha/r) B A</c> (checked
/// against a model whose weights hold that sum, computed here); merging keeps the outputs; cached decoding with an
/// attached adapter matches the full forward; PEFT's file layout round-trips; bad files name what is wrong.
/// </summary>
public sealed class LoraAdapterTests
{
    private static readonly long[] Ids = [3, 17, 5, 42, 8, 11, 29];

    private static Tensor Logits(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        using var input = tensor(Ids, dtype: ScalarType.Int64).unsqueeze(0);
        return model.Logits(input);
    }

    private static void RandomizeB(LoraAdapter adapter, long seed) => TinyConfigs.Randomize(adapter, "_lora_B", seed, 0.2);

    private static double MaxDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    [Fact]
    public void A_fresh_adapter_leaves_the_outputs_unchanged_and_trains_only_its_own_parameters()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var before = Logits(model);
        var keys = model.state_dict().Keys.ToList();

        using var adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4, Alpha = 8 }, seed: 1);

        using var after = Logits(model);
        after.eq(before).all().item<bool>().Should().BeTrue("B starts at zero");
        model.Model.Adapter.Should().BeSameAs(adapter);
        model.state_dict().Keys.Should().Equal(keys, "the model's state dict keeps its Hugging Face keys");
        model.parameters().Should().OnlyContain(p => !p.requires_grad, "the base is frozen");
        adapter.parameters().Should().HaveCount(2 * 7 * 2).And.OnlyContain(p => p.requires_grad);
        // Per layer: q (32->32), k (32->16), v (32->16), o (32->32), gate (32->48), up (32->48), down (48->32); r (in + out) each.
        long perLayer = 4 * ((32 + 32) + (32 + 16) + (32 + 16) + (32 + 32) + (32 + 48) + (32 + 48) + (48 + 32));
        adapter.TrainableParameterCount.Should().Be(2 * perLayer);

        // Backward reaches the adapter only.
        using var input = tensor(Ids, dtype: ScalarType.Int64).unsqueeze(0);
        using var loss = model.Logits(input).pow(2).mean();
        loss.backward();
        adapter.parameters().Any(p => p.grad is { } g && g.abs().sum().item<float>() > 0).Should().BeTrue("the adapter gets gradients");
        model.parameters().All(p => p.grad is null).Should().BeTrue("the frozen base gets none");
    }

    [Fact]
    public void An_adapted_model_computes_the_summed_weights_and_merging_keeps_its_outputs()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var reference = TinyConfigs.Create(TinyConfigs.Llama());
        var options = new LoraOptions { Rank = 2, Alpha = 6, TargetModules = ["q_proj", "v_proj", "down_proj"] };
        using var adapter = LoraAdapter.Attach(model, options, seed: 5);
        RandomizeB(adapter, seed: 9);

        // The reference gets W + (alpha / r) · B A for each adapted projection, computed from the adapter's tensors here.
        using (no_grad())
        {
            var parameters = adapter.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            for (int layer = 0; layer < 2; layer++)
            {
                foreach (var (block, name) in new[] { ("self_attn", "q_proj"), ("self_attn", "v_proj"), ("mlp", "down_proj") })
                {
                    var a = parameters[$"layers_{layer}_{block}_{name}_lora_A"];
                    var b = parameters[$"layers_{layer}_{block}_{name}_lora_B"];
                    using var delta = b.matmul(a) * 3.0;
                    reference.get_parameter($"model.layers.{layer}.{block}.{name}.weight")!.add_(delta);
                }
            }
        }

        using var adapted = Logits(model);
        using var expected = Logits(reference);
        using var untouched = TinyConfigs.Create(TinyConfigs.Llama());
        using var baseLogits = Logits(untouched);
        MaxDiff(adapted, baseLogits).Should().BeGreaterThan(1e-2, "the update must change the outputs");
        MaxDiff(adapted, expected).Should().BeLessThan(1e-4f);

        adapter.Merge();

        adapter.IsAttached.Should().BeFalse();
        model.Model.Adapter.Should().BeNull();
        model.parameters().Should().OnlyContain(p => p.requires_grad, "merging restores the base's flags");
        using var merged = Logits(model);
        MaxDiff(merged, expected).Should().BeLessThan(1e-4f);
        var save = () => adapter.Save(Path.GetTempPath());
        save.Should().Throw<InvalidOperationException>().WithMessage("*merged or detached*");
    }

    [Fact]
    public void Cached_decoding_with_an_attached_adapter_matches_the_full_forward()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4 }, seed: 2);
        RandomizeB(adapter, seed: 4);
        using var full = Logits(model);

        using var noGrad = no_grad();
        using var cache = model.CreateCache(1, 16);   // fused weights requested: the attached adapter must bypass them
        using var prompt = tensor(Ids[..4], dtype: ScalarType.Int64).unsqueeze(0);
        using var first = model.forward(prompt, cache: cache);
        var steps = new List<Tensor> { first.Logits[.., -1] };
        for (int i = 4; i < Ids.Length; i++)
        {
            using var next = tensor(new[] { Ids[i] }, dtype: ScalarType.Int64).unsqueeze(0);
            using var output = model.forward(next, cache: cache);
            steps.Add(output.Logits[.., -1].clone());
        }

        for (int i = 0; i < steps.Count; i++)
        {
            using var want = full[.., 3 + i];
            MaxDiff(steps[i], want).Should().BeLessThan(1e-4f, $"position {3 + i}");
        }
    }

    [Fact]
    public void Save_writes_PEFT_layout_and_FromPretrained_restores_the_same_model()
    {
        var folder = Path.Combine(Path.GetTempPath(), "lora-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var model = TinyConfigs.Create(TinyConfigs.Llama());
            using (var adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4, Alpha = 16, TargetModules = ["q_proj", "up_proj"] }, seed: 3))
            {
                RandomizeB(adapter, seed: 8);
                adapter.Save(folder);
                using var saved = Logits(model);

                var header = SafetensorsFile.ReadHeader(Path.Combine(folder, LoraAdapter.WeightsFileName));
                header.Tensors.Select(t => t.Name).Should().BeEquivalentTo(
                    from layer in new[] { 0, 1 }
                    from key in new[] { "self_attn.q_proj", "mlp.up_proj" }
                    from part in new[] { "lora_A", "lora_B" }
                    select $"base_model.model.model.layers.{layer}.{key}.{part}.weight");
                header.TryGetTensor("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", out var info).Should().BeTrue();
                info!.Shape.Should().Equal(4, 32);
                var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, LoraAdapter.ConfigFileName)))!;
                config["peft_type"]!.GetValue<string>().Should().Be("LORA");
                config["r"]!.GetValue<int>().Should().Be(4);
                config["lora_alpha"]!.GetValue<double>().Should().Be(16);
                config["target_modules"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("q_proj", "up_proj");

                adapter.Detach();
                using var detached = Logits(model);
                MaxDiff(detached, saved).Should().BeGreaterThan(1e-2, "detaching returns to the base weights");

                using var loaded = LoraAdapter.FromPretrained(folder, model);
                loaded.Options.Rank.Should().Be(4);
                using var again = Logits(model);
                MaxDiff(again, saved).Should().Be(0);
            }
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_A()
    {
        using var m1 = TinyConfigs.Create(TinyConfigs.Llama());
        using var m2 = TinyConfigs.Create(TinyConfigs.Llama());
        using var m3 = TinyConfigs.Create(TinyConfigs.Llama());
        using var a1 = LoraAdapter.Attach(m1, new LoraOptions(), seed: 11);
        using var a2 = LoraAdapter.Attach(m2, new LoraOptions(), seed: 11);
        using var a3 = LoraAdapter.Attach(m3, new LoraOptions(), seed: 12);
        var (p1, p2, p3) = (a1.parameters().First(), a2.parameters().First(), a3.parameters().First());
        p1.eq(p2).all().item<bool>().Should().BeTrue();
        p1.eq(p3).all().item<bool>().Should().BeFalse();
        using var bound = p1.abs().max();
        bound.item<float>().Should().BeLessThanOrEqualTo((float)(1 / Math.Sqrt(32)), "A ~ U(-1/sqrt(in), 1/sqrt(in))");
    }

    [Fact]
    public void Bad_options_and_files_get_errors_that_name_the_problem()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        var unknown = () => LoraAdapter.Attach(model, new LoraOptions { TargetModules = ["qkv_proj"] });
        unknown.Should().Throw<ArgumentException>().WithMessage("*unknown projection 'qkv_proj'*");
        var rank = () => LoraAdapter.Attach(model, new LoraOptions { Rank = 0 });
        rank.Should().Throw<ArgumentException>().WithMessage("*Rank must be >= 1*");

        using var adapter = LoraAdapter.Attach(model, new LoraOptions { Rank = 4 });
        var twice = () => LoraAdapter.Attach(model, new LoraOptions());
        twice.Should().Throw<InvalidOperationException>().WithMessage("*already has a LoRA adapter*");

        var folder = Path.Combine(Path.GetTempPath(), "lora-bad-" + Guid.NewGuid().ToString("N"));
        try
        {
            var missing = () => adapter.LoadWeights(folder);
            missing.Should().Throw<CheckpointException>().WithMessage($"*{LoraAdapter.WeightsFileName}: LoRA adapter weights not found*");

            adapter.Save(folder);
            var weights = Path.Combine(folder, LoraAdapter.WeightsFileName);
            var tensors = SafetensorsFile.Load(weights);
            const string key = "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight";
            tensors[key] = zeros(32, 3);
            SafetensorsFile.Save(weights, tensors);
            var shape = () => adapter.LoadWeights(folder);
            shape.Should().Throw<CheckpointException>().WithMessage($"*'{key}' has shape [32, 3]; expected [32, 4]*");
            tensors.Remove(key);
            SafetensorsFile.Save(weights, tensors);
            var absent = () => adapter.LoadWeights(folder);
            absent.Should().Throw<CheckpointException>().WithMessage($"*missing tensor '{key}'*");

            var config = Path.Combine(folder, LoraAdapter.ConfigFileName);
            File.WriteAllText(config, """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "use_dora": true}""");
            var dora = () => LoraAdapter.ReadOptions(folder);
            dora.Should().Throw<CheckpointException>().WithMessage("*'use_dora' is true*");
            File.WriteAllText(config, """{"peft_type": "LORA", "lora_alpha": 8, "target_modules": ["q_proj"]}""");
            var noRank = () => LoraAdapter.ReadOptions(folder);
            noRank.Should().Throw<CheckpointException>().WithMessage($"*{LoraAdapter.ConfigFileName}: missing field 'r'*");
            File.WriteAllText(config, """{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": "all-linear"}""");
            LoraAdapter.ReadOptions(folder).TargetModules.Should().Equal(LoraOptions.AllLinear);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
