using System.Diagnostics;
using Almost.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>fp32 matmul peak and forward+backward throughput of a ~10M-parameter model.</summary>
internal static class TrainingThroughput
{
    /// <summary>The ~10M-parameter LLaMA used by every benchmark.</summary>
    public static LlamaConfig TenMillion => new()
    {
        VocabSize = 4096,
        HiddenSize = 256,
        IntermediateSize = 704,
        NumHiddenLayers = 10,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 4,
        MaxPositionEmbeddings = 512,
        BosTokenId = 1,
        EosTokenIds = [2],
        PadTokenId = 0,
    };

    /// <summary>
    /// <see cref="TenMillion"/> with grouped-query attention: 8 query heads of 32 dimensions sharing 2 key/value heads
    /// (as Llama 3 / Qwen2 do), so decoding exercises the grouped path over the KV cache.
    /// </summary>
    public static LlamaConfig TenMillionGqa => TenMillion with { NumAttentionHeads = 8, NumKeyValueHeads = 2 };

    /// <summary>Best GFLOP/s of an n×n×n fp32 matmul over <paramref name="seconds"/> of repeats.</summary>
    public static double MatmulPeakGflops(int n, double seconds)
    {
        using var a = randn(n, n);
        using var b = randn(n, n);
        using var c = zeros(n, n);
        for (var i = 0; i < 3; i++)
        {
            torch.mm(a, b).Dispose();
        }

        var best = 0.0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var watch = Stopwatch.StartNew();
            const int reps = 5;
            for (var i = 0; i < reps; i++)
            {
                using var product = torch.mm(a, b);
            }

            best = Math.Max(best, reps * 2.0 * n * n * n / watch.Elapsed.TotalSeconds / 1e9);
        }

        return best;
    }

    /// <summary>Tokens/s of forward + backward (cross-entropy on next tokens) at batch × sequence.</summary>
    public static double ForwardBackwardTokensPerSecond(LlamaForCausalLM model, int batch, int sequence, int steps)
    {
        var vocab = model.Config.VocabSize;
        using var generator = new Generator(1);
        using var ids = randint(0, vocab, [batch, sequence + 1], generator: generator);
        using var input = ids.narrow(1, 0, sequence);
        using var target = ids.narrow(1, 1, sequence);
        model.train();
        double Step()
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            var logits = model.Logits(input);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1));
            loss.backward();
            model.zero_grad();
            return watch.Elapsed.TotalSeconds;
        }

        Step(); // warm-up: allocator and kernels
        var times = Enumerable.Range(0, steps).Select(_ => Step()).OrderBy(t => t).ToList();
        var median = times[times.Count / 2];
        return batch * sequence / median;
    }
}
