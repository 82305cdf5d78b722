using System.Diagnostics;
using Almost.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>
/// The training-step peer a TorchSharp user could pick instead of our LLaMA: LibTorch's own fused
/// <c>nn.TransformerEncoder</c> (post-norm, GELU, causal mask) of the same width, depth, heads and tokens, with an
/// embedding and an output projection of the same vocabulary; its feed-forward width makes the MLP as many FLOPs as
/// our SwiGLU (2·ff = 3·intermediate).
/// </summary>
internal static class TransformerEncoderPeer
{
    /// <summary>Forward + backward tokens/s and the peer's parameter count, at batch × sequence.</summary>
    public static (double TokensPerSecond, long Parameters) ForwardBackward(LlamaConfig config, int batch, int sequence, int steps)
    {
        long ff = 3L * config.IntermediateSize / 2;
        using var embedding = nn.Embedding(config.VocabSize, config.HiddenSize);
        using var layer = nn.TransformerEncoderLayer(config.HiddenSize, config.NumAttentionHeads, ff, 0.0, nn.Activations.GELU);
        using var encoder = nn.TransformerEncoder(layer, config.NumHiddenLayers);
        using var norm = nn.LayerNorm(config.HiddenSize);
        using var head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        var modules = new nn.Module[] { embedding, encoder, norm, head };
        long parameters = modules.Sum(m => m.parameters().Sum(p => p.numel()));
        foreach (var m in modules)
        {
            m.train();
        }

        using var generator = new Generator(1);
        using var ids = randint(0, config.VocabSize, [sequence + 1, batch], generator: generator);   // (S+1, B): seq-first
        using var input = ids.narrow(0, 0, sequence);
        using var target = ids.narrow(0, 1, sequence);
        using var mask = triu(full(sequence, sequence, float.NegativeInfinity), 1);
        double Step()
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            var hidden = encoder.call(embedding.call(input), mask);                             // (S, B, C)
            var logits = head.call(norm.call(hidden));
            var loss = nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), target.reshape(-1));
            loss.backward();
            foreach (var m in modules)
            {
                m.zero_grad();
            }

            return watch.Elapsed.TotalSeconds;
        }

        Step();
        var times = Enumerable.Range(0, steps).Select(_ => Step()).OrderBy(t => t).ToList();
        return (batch * sequence / times[times.Count / 2], parameters);
    }
}
