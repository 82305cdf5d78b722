using Almost.Models.Llama;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

public sealed class KvCacheTests
{
    private static Tensor Ids(params int[] ids) => tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);

    [Fact]
    public void Step_by_step_decoding_with_cache_equals_the_full_forward_within_1e_5()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        int[] seq = [1, 5, 9, 33, 12, 40, 7, 2, 19, 60, 3];
        using var full = model.Logits(Ids(seq));
        using var cache = model.CreateCache(1, 32);
        using var _ = no_grad();

        // Prefill with 4 tokens, then one token per step.
        using (var prefill = model.forward(Ids(seq[..4]), cache: cache))
        {
            (prefill.Logits - full.narrow(1, 0, 4)).abs().max().item<float>().Should().BeLessThan(1e-5f);
        }

        for (var t = 4; t < seq.Length; t++)
        {
            using var step = model.forward(Ids(seq[t]), cache: cache);
            var diff = (step.Logits.squeeze(1) - full[.., t]).abs().max().item<float>();
            diff.Should().BeLessThan(1e-5f, $"position {t}");
        }

        cache.Length.Should().Be(seq.Length);
    }

    [Fact]
    public void Each_row_of_a_left_padded_batch_gives_the_logits_it_gives_alone_with_and_without_cache()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        int[] a = [1, 5, 9, 33, 12, 40];
        int[] b = [1, 8, 50];
        const int pad = 0;
        using var batch = tensor(new long[,] { { 1, 5, 9, 33, 12, 40 }, { pad, pad, pad, 1, 8, 50 } });
        using var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1 } });
        using var aloneA = model.Logits(Ids(a));
        using var aloneB = model.Logits(Ids(b));
        using var batched = model.Logits(batch, mask);
        (batched[0] - aloneA[0]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        (batched[1, TensorIndex.Slice(3)] - aloneB[0]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        batched.isnan().any().item<bool>().Should().BeFalse("padding rows must not produce NaN");

        // Now decode two more tokens through the cache, extending the mask each step.
        using var cache = model.CreateCache(2, 16);
        using var noGrad = no_grad();
        using (model.forward(batch, mask, cache: cache))
        {
        }

        int[] nextA = [7, 21];
        int[] nextB = [30, 4];
        var runningMask = mask;
        for (var s = 0; s < 2; s++)
        {
            var step = tensor(new long[,] { { nextA[s] }, { nextB[s] } });
            runningMask = cat([runningMask, ones(2, 1, dtype: ScalarType.Int64)], 1);
            using var output = model.forward(step, runningMask, cache: cache);
            using var refA = model.Logits(Ids([.. a, .. nextA[..(s + 1)]]));
            using var refB = model.Logits(Ids([.. b, .. nextB[..(s + 1)]]));
            (output.Logits[0, 0] - refA[0, -1]).abs().max().item<float>().Should().BeLessThan(1e-5f);
            (output.Logits[1, 0] - refB[0, -1]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        }
    }

    [Fact]
    public void Cache_overflow_is_a_clear_error()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama());
        using var cache = model.CreateCache(1, 3);
        var act = () => model.forward(Ids(1, 2, 3, 4), cache: cache);
        act.Should().Throw<InvalidOperationException>().WithMessage("*overflow*");
    }
}
