using System.Diagnostics;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>
/// Decode tokens/s of the ~10M model, 128 new tokens, greedy: <see cref="LocalGenerator"/> (KV cache) against a
/// baseline that recomputes the whole prefix every step, at batch 1 and batch 32.
/// </summary>
/// <remarks>Keys are <c>{prefix}_cache_b{batch}_tokens_per_s</c> and <c>{prefix}_recompute_b{batch}_tokens_per_s</c>.</remarks>
internal static class DecodeThroughput
{
    private const int NewTokens = 128;
    private const int PromptLength = 16;

    public static IEnumerable<(string Key, object Value)> Run(LlamaForCausalLM model, bool quick, string prefix = "decode", bool withRecompute = true)
    {
        model.eval();
        // The model's vocabulary (4096) is a prefix of GPT-2's, so GPT-2's tokenizer can decode whatever it produces.
        var tokenizer = TokenizerLoader.FromTiktoken("gpt2");
        var generator = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { MaxBatchSize = 32, AddBos = false });
        var options = new GenerationOptions { MaxNewTokens = NewTokens, Temperature = 0 };
        var results = new List<(string, object)>();
        foreach (var batch in new[] { 1, 32 })
        {
            var prompts = Enumerable.Range(0, batch)
                .Select(r => Enumerable.Range(0, PromptLength).Select(i => 3 + (r * 31 + i * 7) % 4000).ToArray())
                .ToList();

            // The model never emits EOS reliably at random init; force full length by banning nothing and counting tokens.
            generator.Generate(prompts.Take(1).ToList(), options with { MaxNewTokens = 4 });
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var output = generator.Generate(prompts, options);
            var tokens = output.Sum(o => o[0].TokenIds.Count);
            var cached = tokens / watch.Elapsed.TotalSeconds;
            // Tokens per CPU second of this process: on a shared machine other processes' load stretches wall time
            // much more than it stretches our own CPU time, so this is the steadier figure for before/after comparisons.
            var perCpuSecond = tokens / (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;

            results.Add(($"{prefix}_cache_b{batch}_tokens_per_s", Math.Round(cached, 1)));
            results.Add(($"{prefix}_cache_b{batch}_tokens_per_cpu_s", Math.Round(perCpuSecond, 1)));
            if (!withRecompute)
            {
                Console.Error.WriteLine($"{prefix} batch {batch}: cache {cached:F0} tok/s ({perCpuSecond:F0} per CPU second)");
                continue;
            }

            var recomputeSteps = quick ? 16 : (batch == 1 ? NewTokens : 32);
            var recompute = RecomputeTokensPerSecond(model, prompts, recomputeSteps);
            Console.Error.WriteLine($"{prefix} batch {batch}: cache {cached:F0} tok/s, recompute {recompute:F0} tok/s ({recomputeSteps} steps)");
            results.Add(($"{prefix}_recompute_b{batch}_tokens_per_s", Math.Round(recompute, 1)));
        }

        return results;
    }

    /// <summary>Greedy decoding that runs the full prefix through the model for every new token (no cache).</summary>
    private static double RecomputeTokensPerSecond(LlamaForCausalLM model, List<int[]> prompts, int steps)
    {
        using var noGrad = no_grad();
        var ids = tensor(prompts.SelectMany(p => p.Select(i => (long)i)).ToArray()).reshape(prompts.Count, PromptLength);
        var watch = Stopwatch.StartNew();
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            using var output = model.forward(ids, lastPositionOnly: true);
            var next = output.Logits.squeeze(1).argmax(-1, keepdim: true);
            var longer = cat([ids, next], 1).DetachFromDisposeScope();
            ids.Dispose();
            ids = longer;
        }

        // The recompute cost grows with the prefix; time for the first `steps` tokens extrapolated linearly would
        // flatter it, so we report the measured rate over exactly these steps.
        var rate = prompts.Count * steps / watch.Elapsed.TotalSeconds;
        ids.Dispose();
        return rate;
    }
}
