using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

/// <summary>
/// The fused decode path (no-grad forwards through a <see cref="KvCache"/>) against the module path and the full
/// forward, for every layout it fuses: grouped-query and full attention, Qwen2's q/k/v biases, LLaMA's attention
/// and MLP biases, tied embeddings.
/// </summary>
public sealed class FusedDecodingTests
{
    public static TheoryData<string> Layouts => new() { "llama-gqa", "llama-mha", "qwen2", "llama-biases", "tied" };

    private static LlamaForCausalLM Model(string layout)
    {
        var config = layout switch
        {
            "llama-gqa" => TinyConfigs.Llama(),
            "llama-mha" => TinyConfigs.Llama() with { NumKeyValueHeads = 4 },
            "qwen2" => TinyConfigs.Llama(modelType: "qwen2"),
            "llama-biases" => TinyConfigs.Llama() with { AttentionBias = true, MlpBias = true },
            "tied" => TinyConfigs.Llama(tied: true),
            _ => throw new ArgumentOutOfRangeException(nameof(layout)),
        };
        var model = TinyConfigs.Create(config);
        RandomizeBiases(model, seed: 3);
        return model;
    }

    // InitializeWeights zeroes biases (as HF does); a fused bias in the wrong place would then go unseen.
    private static void RandomizeBiases(LlamaForCausalLM model, long seed) => TinyConfigs.Randomize(model, ".bias", seed, 0.3);

    private static Tensor Ids(params long[] ids) => tensor(ids).unsqueeze(0);

    /// <summary>Prefill a left-padded batch of two, then three single-token steps; logits per step (B, V).</summary>
    private static List<Tensor> DecodeBatch(LlamaForCausalLM model, bool fused)
    {
        using var noGrad = no_grad();
        using var cache = model.CreateCache(2, 16, fused);
        var batch = tensor(new long[,] { { 1, 5, 9, 33, 12, 40 }, { 0, 0, 0, 1, 8, 50 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1 } });
        var steps = new List<Tensor>();
        using (var prefill = model.forward(batch, mask, cache: cache, lastPositionOnly: true))
        {
            steps.Add(prefill.Logits.squeeze(1).clone());
        }

        long[][] next = [[7, 30], [21, 4], [3, 60]];
        foreach (var tokens in next)
        {
            mask = cat([mask, ones(2, 1, dtype: ScalarType.Int64)], 1);
            using var step = model.forward(tensor(tokens).unsqueeze(1), mask, cache: cache, lastPositionOnly: true);
            steps.Add(step.Logits.squeeze(1).clone());
        }

        return steps;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Fused_cached_decoding_of_a_padded_batch_equals_the_module_path_within_1e_5(string layout)
    {
        using var model = Model(layout);
        var fused = DecodeBatch(model, fused: true);
        var modules = DecodeBatch(model, fused: false);
        for (var i = 0; i < fused.Count; i++)
        {
            (fused[i] - modules[i]).abs().max().item<float>().Should().BeLessThan(1e-5f, $"step {i}");
        }

        // And against the full forward of each row alone (no cache, no padding).
        using var refB = model.Logits(Ids(1, 8, 50, 30, 4, 60));
        (fused[^1][1] - refB[0, -1]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        (fused[1][1] - refB[0, 3]).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Unpadded_prefill_and_single_token_steps_match_the_full_forward(string layout)
    {
        using var model = Model(layout);
        long[] seq = [1, 5, 9, 33, 12, 40, 7, 2, 19, 60, 3];
        using var full = model.Logits(Ids(seq));
        using var noGrad = no_grad();
        using var cache = model.CreateCache(1, 32);
        using (var prefill = model.forward(Ids(seq[..5]), cache: cache))
        {
            (prefill.Logits - full.narrow(1, 0, 5)).abs().max().item<float>().Should().BeLessThan(1e-5f);
        }

        for (var t = 5; t < seq.Length; t++)
        {
            using var step = model.forward(Ids(seq[t]), cache: cache);
            (step.Logits.squeeze(1) - full[.., t]).abs().max().item<float>().Should().BeLessThan(1e-5f, $"position {t}");
        }
    }

    [Fact]
    public void Reset_drops_the_fused_weights_so_a_reused_cache_sees_a_training_step()
    {
        using var model = Model("llama-gqa");
        long[] seq = [1, 5, 9, 33];
        using var cache = model.CreateCache(1, 8);
        using (no_grad())
        using (model.forward(Ids(seq), cache: cache))
        {
        }

        // An in-place update, as an optimizer step makes it.
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                if (name.Contains("q_proj", StringComparison.Ordinal) || name.Contains("up_proj", StringComparison.Ordinal))
                {
                    parameter.mul_(1.5);
                }
            }
        }

        cache.Reset();
        using var expected = model.Logits(Ids(seq));
        using var noGrad = no_grad();
        using var after = model.forward(Ids(seq), cache: cache);
        (after.Logits - expected).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void Without_Reset_a_cache_keeps_the_weights_it_first_saw_as_its_cached_keys_do()
    {
        using var model = Model("llama-gqa");
        using var noGrad = no_grad();
        using var cache = model.CreateCache(1, 8);
        using var before = model.Logits(Ids(1, 5, 9, 33));
        using (model.forward(Ids(1, 5), cache: cache))
        {
        }

        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name.Contains("down_proj", StringComparison.Ordinal))
            {
                parameter.mul_(2.0);
            }
        }

        // The documented contract (KvCache remarks): the fused copy is the one taken at the cache's first forward.
        using var step = model.forward(Ids(9, 33), cache: cache);
        (step.Logits - before.narrow(1, 2, 2)).abs().max().item<float>().Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void A_forward_with_gradients_through_a_cache_takes_the_module_path_and_keeps_the_graph()
    {
        using var model = Model("llama-gqa");
        using var cache = model.CreateCache(1, 8);
        using var output = model.forward(Ids(1, 5, 9), cache: cache);
        output.Logits.requires_grad.Should().BeTrue();
        using var loss = output.Logits.sum();
        loss.backward();
        model.parameters().First(p => p.grad is not null).grad!.abs().sum().item<float>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void Bf16_fused_decoding_stays_within_bf16_rounding_of_the_module_path()
    {
        var config = TinyConfigs.Llama();
        using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", DType = ScalarType.BFloat16, Seed = 7 });
        var fused = DecodeBatch(model, fused: true);
        var modules = DecodeBatch(model, fused: false);
        for (var i = 0; i < fused.Count; i++)
        {
            var scale = modules[i].abs().max().item<float>();
            (fused[i] - modules[i]).abs().max().item<float>().Should().BeLessThan(0.05f * scale, $"step {i}");
        }
    }

    [Fact]
    public async Task LocalGenerator_gives_the_same_greedy_tokens_with_and_without_fused_decoding()
    {
        var tokenizer = TokenizerLoader.FromByteLevelBpe(
            TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");
        using var model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(tokenizer.VocabSize), seed: 11);
        string[] prompts = ["Hello world", "the", "in the Hello world in", "wor"];
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 24, Seed = 1 };
        var fused = await new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { FusedDecoding = true })
            .GenerateAsync(prompts, options);
        var modules = await new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { FusedDecoding = false })
            .GenerateAsync(prompts, options);
        for (var i = 0; i < prompts.Length; i++)
        {
            fused[i][0].TokenIds.Should().Equal(modules[i][0].TokenIds, $"prompt {i}");
        }

        fused.Sum(r => r[0].TokenIds.Count).Should().BeGreaterThan(30, "the prompts must decode past a few tokens");
    }
}
