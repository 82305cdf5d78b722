using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Generation;

/// <summary>
/// <see cref="LocalGeneratorOptions.ShareCommonPrefix"/>: a prompt prefix every row of a batch shares is prefilled
/// once and copied into every row's cache; the rows' outputs are those of prefilling every row in full.
/// </summary>
public sealed class SharedPrefixTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

    private const string Preamble = "Hello world in the world. the world in the Hello world. in the";

    [Fact]
    public void The_shared_length_is_the_common_token_prefix_one_short_of_the_shortest_prompt_and_only_when_long_enough()
    {
        var on = new LocalGeneratorOptions { MinSharedPrefixTokens = 3 };
        int[] a = [1, 2, 3, 4, 5, 6], b = [1, 2, 3, 4, 9], c = [1, 2, 3, 4];

        LocalGenerator.SharedPrefixLength([a, b], on).Should().Be(4);
        LocalGenerator.SharedPrefixLength([a, b, c], on).Should().Be(3, "the shortest prompt keeps one token to prefill");
        LocalGenerator.SharedPrefixLength([a, a], on).Should().Be(5, "the samples of one prompt share all but its last token");
        LocalGenerator.SharedPrefixLength([a, [1, 2, 7, 4, 5]], on).Should().Be(0, "two tokens are below the minimum");
        LocalGenerator.SharedPrefixLength([a], on).Should().Be(0, "one row has nothing to share with");
        LocalGenerator.SharedPrefixLength([a, b], on with { ShareCommonPrefix = false }).Should().Be(0);
    }

    [Theory]
    [InlineData(false, 1)]   // suffixes of different lengths: left padding between the prefix and each row's rest
    [InlineData(false, 3)]   // several samples per prompt (rows of one prompt in one batch)
    [InlineData(true, 1)]    // suffixes of one length: no padding, no mask
    public async Task Greedy_tokens_and_log_probs_are_those_of_prefilling_every_row_in_full(bool equalSuffixes, int samples)
    {
        using var model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(Tokenizer.VocabSize), seed: 11);
        string[] prompts = equalSuffixes
            ? [Preamble + " Hello", Preamble + " world", Preamble + " the w"]
            : [Preamble + " Hello world", Preamble + " the", Preamble + " in the Hello world in", Preamble + " wor"];
        var encoded = prompts.Select(p => Tokenizer.Encode(p)).ToList();
        LocalGenerator.SharedPrefixLength(encoded.Select(e => e.ToArray()).ToList(), new LocalGeneratorOptions()).Should().BeGreaterThanOrEqualTo(16, "the test must share a prefix long enough to be shared");
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 20, Seed = 1, SamplesPerPrompt = samples, ReturnLogProbs = true };

        var shared = await new LocalGenerator(model, Tokenizer, new LocalGeneratorOptions { ShareCommonPrefix = true }).GenerateAsync(prompts, options);
        var full = await new LocalGenerator(model, Tokenizer, new LocalGeneratorOptions { ShareCommonPrefix = false }).GenerateAsync(prompts, options);

        for (var i = 0; i < prompts.Length; i++)
        {
            for (var s = 0; s < samples; s++)
            {
                shared[i][s].TokenIds.Should().Equal(full[i][s].TokenIds, $"prompt {i} sample {s}");
                shared[i][s].LogProbs!.Zip(full[i][s].LogProbs!).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-4, $"prompt {i} sample {s}");
            }
        }

        shared.Sum(r => r[0].TokenIds.Count).Should().BeGreaterThan(prompts.Length * 5, "the prompts must decode past a few tokens");
    }

    [Fact]
    public async Task Sampling_with_a_seed_repeats_and_follows_the_full_prefill_distribution()
    {
        using var model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(Tokenizer.VocabSize), seed: 11);
        string[] prompts = [Preamble + " Hello world", Preamble + " the"];
        var options = new GenerationOptions { Temperature = 1, MaxNewTokens = 12, Seed = 5, SamplesPerPrompt = 4 };
        var generator = new LocalGenerator(model, Tokenizer);

        var first = await generator.GenerateAsync(prompts, options);
        var second = await generator.GenerateAsync(prompts, options);
        var full = await new LocalGenerator(model, Tokenizer, new LocalGeneratorOptions { ShareCommonPrefix = false }).GenerateAsync(prompts, options);

        first.SelectMany(r => r).Select(g => g.Text).Should().Equal(second.SelectMany(r => r).Select(g => g.Text));
        // The same seeded stream over the same distributions (equal up to float rounding) draws the same tokens.
        first.SelectMany(r => r).Select(g => g.Text).Should().Equal(full.SelectMany(r => r).Select(g => g.Text));
    }

    [Fact]
    public void A_prefix_cache_fills_every_row_of_an_empty_cache_and_refuses_a_filled_one()
    {
        using var model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(Tokenizer.VocabSize), seed: 11);
        using var noGrad = no_grad();
        var ids = tensor(Array.ConvertAll(Tokenizer.Encode(Preamble), i => (long)i)).unsqueeze(0);
        using var prefix = model.CreateCache(1, ids.shape[1], fusedWeights: false);
        model.Model.forward(ids, cache: prefix).Dispose();
        using var rows = model.CreateCache(3, ids.shape[1] + 4);
        using var reference = model.CreateCache(3, ids.shape[1] + 4);

        rows.FillPrefixFrom(prefix);
        using var next = tensor(new long[] { 5, 6, 7 }).unsqueeze(1);
        using var viaPrefix = model.forward(next, cache: rows, lastPositionOnly: true).Logits;
        model.forward(ids.expand(3, -1), cache: reference).Dispose();
        using var viaFull = model.forward(next, cache: reference, lastPositionOnly: true).Logits;

        rows.Length.Should().Be(ids.shape[1] + 1);
        (viaPrefix - viaFull).abs().max().item<float>().Should().BeLessThan(1e-4f);
        FluentActions.Invoking(() => rows.FillPrefixFrom(prefix)).Should().Throw<InvalidOperationException>().WithMessage("*empty cache*");
        FluentActions.Invoking(() => prefix.FillPrefixFrom(rows)).Should().Throw<InvalidOperationException>();
    }
}
