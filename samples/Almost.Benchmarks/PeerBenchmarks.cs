using System.Diagnostics;
using System.Globalization;
using System.Text;
using Almost.Export.Gguf;
using Almost.Generation;
using Almost.LlamaCpp;
using Almost.Models.Llama;
using Almost.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>
/// Side-by-side peers, each pair run back to back in one process with the same thread count:
/// <see cref="LocalGenerator"/> (TorchSharp) vs llama.cpp (<see cref="LlamaCppGenerator"/>) on one zoo model exported
/// to F32 GGUF, and our LLaMA's training step vs LibTorch's <c>nn.TransformerEncoder</c> (<see cref="TransformerEncoderPeer"/>).
/// Writes its section of docs/performance.md between markers, leaving the rest of the file alone.
/// </summary>
internal static class PeerBenchmarks
{
    private const string Begin = "<!-- peers -->", End = "<!-- /peers -->";

    public static void Run(string repoRoot, string zooName, int threads, string outPath)
    {
        LoadAtStart = RewardModelThroughput.LoadAverage();
        torch.set_num_threads(threads);
        var training = TrainingPeer();
        string folder = Path.Combine(repoRoot, "samples", "Almost.TinyWorld", "zoo", zooName);
        using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu" });
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(folder);
        string gguf = Path.Combine(Path.GetTempPath(), $"almost-peers-{zooName}.gguf");
        model.SaveGguf(gguf, tokenizer);
        var rows = new List<(string Workload, double Ours, double Peer)>();
        (double Batch1, double Batch32, double Generator1, double Peer1) steps = default;
        var fusing = new List<(string Workload, double Fused, double Modules)>();
        var queries = Enumerable.Range(0, 256).Select(i => $"\n\nHuman: What is {i % 17} plus {i % 23}?\n\nAssistant:").ToArray();
        int[] longPrompt = Enumerable.Range(0, 128).Select(i => tokenizer.Encode(queries[i % queries.Length])[i % 5]).ToArray();

        // Our prefill before llama.cpp's thread pool exists, so neither engine's idle threads slow the other.
        double prefillOurs = PrefillOurs(model, longPrompt);
        try
        {
            using var llama = new LlamaCppGenerator(gguf, new LlamaCppGeneratorOptions { MaxBatchSize = 32, MaxSequenceLength = 192, Threads = threads });
            var local1 = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { AddBos = false, MaxBatchSize = 1 });
            var local32 = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { AddBos = false, MaxBatchSize = 32 });
            // Prompt processing: one 128-token prompt, logits for the last position.
            rows.Add(("prompt processing, 128 tokens, batch 1 (tokens/s)", prefillOurs, PrefillPeer(llama, longPrompt)));

            var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = 48 };
            var sampled = new GenerationOptions { Temperature = 1.0, TopP = 0.9, MaxNewTokens = 48, Seed = 1 };
            rows.Add(("decode, batch 1, 48 new tokens, 8 prompts (tokens/s)", Decode(local1, queries[..8], greedy), Decode(llama, queries[..8], greedy)));
            rows.Add(("decode, batch 32, 48 new tokens, 64 prompts (tokens/s)", Decode(local32, queries[..64], greedy), Decode(llama, queries[..64], greedy)));
            steps = (StepMilliseconds(model, 1, fused: true), StepMilliseconds(model, 32, fused: true), 1000.0 / rows[1].Ours, 1000.0 / rows[1].Peer);
            rows.Add(("synthetic-data workload: 256 prompts, batch 32, T=1 top-p 0.9, 48 new tokens (tokens/s)", Decode(local32, queries, sampled), Decode(llama, queries, sampled)));

            // The fused decode path against the module path it replaced, same model, same run: alternating, best of
            // two each, because back-to-back single runs on this VM moved by up to 2x.
            var modules1 = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { AddBos = false, MaxBatchSize = 1, FusedDecoding = false });
            var modules32 = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { AddBos = false, MaxBatchSize = 32, FusedDecoding = false });
            (double Fused, double Modules) BestOfTwo(Func<bool, double> measure)
            {
                double fused = 0, modules = 0;
                for (int run = 0; run < 2; run++)
                {
                    fused = Math.Max(fused, measure(true));
                    modules = Math.Max(modules, measure(false));
                }

                return (fused, modules);
            }

            var step1 = StepComparison(model, 1);
            var step32 = StepComparison(model, 32);
            var decode1 = BestOfTwo(fused => Decode(fused ? local1 : modules1, queries[..8], greedy));
            var decode32 = BestOfTwo(fused => Decode(fused ? local32 : modules32, queries[..64], greedy));
            var workload = BestOfTwo(fused => Decode(fused ? local32 : modules32, queries, sampled));
            fusing.Add(("model step, batch 1, median of 10 alternating runs (ms)", step1.Fused, step1.Modules));
            fusing.Add(("model step, batch 32, median of 10 alternating runs (ms)", step32.Fused, step32.Modules));
            fusing.Add(("LocalGenerator decode, batch 1, 8 prompts (tokens/s)", decode1.Fused, decode1.Modules));
            fusing.Add(("LocalGenerator decode, batch 32, 64 prompts (tokens/s)", decode32.Fused, decode32.Modules));
            fusing.Add(("synthetic-data workload, batch 32 (tokens/s)", workload.Fused, workload.Modules));
        }
        finally
        {
            File.Delete(gguf);
        }

        foreach (var (workload, ours, peer) in rows)
        {
            Console.Error.WriteLine($"{workload}: ours {ours:F0}, llama.cpp {peer:F0}, ratio {ours / peer:F2}");
        }

        foreach (var (workload, fused, modules) in fusing)
        {
            Console.Error.WriteLine($"{workload}: fused {fused:F2}, module path {modules:F2}");
        }

        Write(outPath, zooName, model.Config, threads, rows, training, steps, fusing);
    }

    /// <summary>Training step (forward + backward), ~10M parameters, batch 8 × 256: tokens/s and MFU of ours and the peer.</summary>
    private static (double Peak, double Ours, double OursMfu, double Peer, double PeerMfu, long PeerParameters) TrainingPeer()
    {
        const int batch = 8, sequence = 256, steps = 6;
        LlamaConfig config = TrainingThroughput.TenMillion;
        double peak = TrainingThroughput.MatmulPeakGflops(1024, 3);
        double ours;
        using (var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", Seed = 0 }))
        {
            ours = TrainingThroughput.ForwardBackwardTokensPerSecond(model, batch, sequence, steps);
        }

        var (peer, peerParameters) = TransformerEncoderPeer.ForwardBackward(config, batch, sequence, steps);
        double Mfu(long parameters, double tokensPerSecond) => 6.0 * parameters * tokensPerSecond / 1e9 / peak;
        var result = (peak, ours, Mfu(config.ParameterCount, ours), peer, Mfu(peerParameters, peer), peerParameters);
        Console.Error.WriteLine($"training: peak {peak:F1} GFLOP/s; ours {ours:F0} tokens/s MFU {result.Item3:P1}; TransformerEncoder {peer:F0} tokens/s MFU {result.Item5:P1}");
        return result;
    }

    /// <summary>
    /// Milliseconds of one cached decode step of the model alone (no sampling, no host sync but the argmax): the best of
    /// three runs of 64 steps, each on a fresh cache (a single run moved by up to 30 % between identical calls).
    /// </summary>
    private static double StepMilliseconds(LlamaForCausalLM model, int batch, bool fused) =>
        Enumerable.Range(0, 3).Min(_ => StepRun(model, batch, fused));

    /// <summary>
    /// Median milliseconds of one model step, fused and module path, over 10 runs of 64 steps each, alternating the two
    /// (so drift of the machine hits both alike).
    /// </summary>
    private static (double Fused, double Modules) StepComparison(LlamaForCausalLM model, int batch)
    {
        var fused = new List<double>();
        var modules = new List<double>();
        for (int run = 0; run < 10; run++)
        {
            fused.Add(StepRun(model, batch, fused: true));
            modules.Add(StepRun(model, batch, fused: false));
        }

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        return (Median(fused), Median(modules));
    }

    /// <summary>Milliseconds per step of 64 cached single-token steps after an 8-token prefill, on a fresh cache.</summary>
    private static double StepRun(LlamaForCausalLM model, int batch, bool fused)
    {
        using var noGrad = no_grad();
        using var cache = model.CreateCache(batch, 96, fused);
        using var next = zeros([batch, 1], dtype: ScalarType.Int64);
        using (var scope = NewDisposeScope())
        {
            using var prompt = zeros([batch, 8], dtype: ScalarType.Int64);
            model.forward(prompt, cache: cache, lastPositionOnly: true);
        }

        const int count = 64;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            model.forward(next, cache: cache, lastPositionOnly: true).Logits.argmax(-1);
        }

        return watch.Elapsed.TotalMilliseconds / count;
    }

    private static double PrefillOurs(LlamaForCausalLM model, int[] prompt)
    {
        using var noGrad = no_grad();
        using var ids = tensor(prompt, dtype: ScalarType.Int64).unsqueeze(0);
        return Timed(5, () =>
        {
            using var scope = NewDisposeScope();
            model.forward(ids, lastPositionOnly: true).Logits.argmax().item<long>();
        }) * prompt.Length;
    }

    private static double PrefillPeer(LlamaCppGenerator llama, int[] prompt)
    {
        return Timed(5, () => llama.LastTokenLogits(prompt)) * prompt.Length;
    }

    private static double Decode(ITextGenerator generator, string[] prompts, GenerationOptions options)
    {
        generator.GenerateAsync(prompts[..Math.Min(2, prompts.Length)], options with { MaxNewTokens = 4 }).GetAwaiter().GetResult();
        var watch = Stopwatch.StartNew();
        var results = generator.GenerateAsync(prompts, options).GetAwaiter().GetResult();
        long tokens = results.SelectMany(r => r).Sum(r => (long)r.TokenIds.Count);
        return tokens / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Calls per second of <paramref name="action"/> after one warm-up call.</summary>
    private static double Timed(int repeats, Action action)
    {
        action();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++)
        {
            action();
        }

        return repeats / watch.Elapsed.TotalSeconds;
    }

    /// <summary>The 1-minute load average when <see cref="Run"/> started (written next to the results).</summary>
    private static double LoadAtStart { get; set; }

    private static void Write(
        string outPath, string zooName, LlamaConfig config, int threads, List<(string Workload, double Ours, double Peer)> rows,
        (double Peak, double Ours, double OursMfu, double Peer, double PeerMfu, long PeerParameters) training,
        (double Batch1, double Batch32, double Generator1, double Peer1) steps,
        List<(string Workload, double Fused, double Modules)> fusing)
    {
        var section = new StringBuilder();
        section.AppendLine(Begin);
        section.AppendLine("## Peers, side by side");
        section.AppendLine();
        section.AppendLine("### Training step: our LLaMA vs LibTorch's `nn.TransformerEncoder`");
        section.AppendLine();
        LlamaConfig ten = TrainingThroughput.TenMillion;
        section.AppendLine(FormattableString.Invariant(
            $"Forward + backward, batch 8 × 256 tokens, width {ten.HiddenSize}, {ten.NumHiddenLayers} layers, {ten.NumAttentionHeads} heads, vocabulary {ten.VocabSize}; the peer is TorchSharp's fused `nn.TransformerEncoder` (post-norm, GELU, causal mask, feed-forward {3 * ten.IntermediateSize / 2} = the FLOPs of our SwiGLU {ten.IntermediateSize}) with an embedding and an output projection. MFU = 6 · parameters · tokens/s ÷ the fp32 matmul peak measured in the same run ({training.Peak:F1} GFLOP/s, n = 1024)."));
        section.AppendLine();
        section.AppendLine("| model | parameters | tokens/s | MFU |");
        section.AppendLine("|---|---:|---:|---:|");
        section.AppendLine(FormattableString.Invariant($"| ours (LlamaForCausalLM) | {ten.ParameterCount / 1e6:F2}M | {training.Ours:F0} | {training.OursMfu:P1} |"));
        section.AppendLine(FormattableString.Invariant($"| nn.TransformerEncoder | {training.PeerParameters / 1e6:F2}M | {training.Peer:F0} | {training.PeerMfu:P1} |"));
        section.AppendLine(FormattableString.Invariant($"| **ratio (ours ÷ peer)** | | | **{training.OursMfu / training.PeerMfu:F2}** |"));
        section.AppendLine();
        section.AppendLine("### Generation: LocalGenerator vs llama.cpp");
        section.AppendLine();
        section.AppendLine(FormattableString.Invariant(
            $"Zoo model `{zooName}` ({config.ParameterCount / 1e6:F2}M parameters, hidden {config.HiddenSize}, {config.NumHiddenLayers} layers), F32 in both engines (GGUF exported by `GgufExporter`), CPU, {threads} threads each, run back to back in one process on {DateTime.UtcNow:yyyy-MM-dd}.")
            + FormattableString.Invariant($" 1-minute load average {LoadAtStart:F2} at the start and {RewardModelThroughput.LoadAverage():F2} at the end of the run (2 cores: under about 0.5 the machine was idle; above, read the ratios, not the absolute numbers).")
            + " Decode rates count generated tokens over the whole call (prompt processing included); llama.cpp is LLamaSharp 0.30.0 with its CPU backend."
            + (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { } policy
                ? $" OMP_WAIT_POLICY={policy}: LibTorch's idle OpenMP threads sleep instead of spinning, so they do not take the cores from llama.cpp's threads (two engines in one process)."
                : ""));
        section.AppendLine();
        section.AppendLine("| workload | LocalGenerator | llama.cpp | ratio (ours ÷ peer) |");
        section.AppendLine("|---|---:|---:|---:|");
        foreach (var (workload, ours, peer) in rows)
        {
            section.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {workload} | {ours:F0} | {peer:F0} | {ours / peer:F2} |"));
        }

        section.AppendLine();
        section.AppendLine(FormattableString.Invariant(
            $"Where the time goes at batch 1: one cached decode step of the model alone (no sampling) takes {steps.Batch1:F1} ms at batch 1 and {steps.Batch32:F1} ms at batch 32, 32× the rows for {steps.Batch32 / steps.Batch1:F1}× the time. At batch 1 the step is mostly the fixed cost of the LibTorch calls it makes (projections, views, rotary, cache writes, attention, norms, MLP: each a P/Invoke into LibTorch's dispatcher and a small kernel), not arithmetic. LocalGenerator spends {steps.Generator1:F1} ms per generated token at batch 1 (model step plus sampling, stop checks and prompt processing); llama.cpp spends {steps.Peer1:F1} ms, running each step as one prebuilt graph in C. At batch 32 the fixed cost is shared by 32 rows."));
        section.AppendLine();
        section.AppendLine("#### The fused decode step");
        section.AppendLine();
        section.AppendLine("Decoding through a KV cache without gradients runs each block on fused copies of its weights (`FusedDecoderLayer`: one q/k/v matrix and one gate/up matrix with the RMSNorm scales folded in, transposed for `mm`/`addmm` with the residual adds folded into the output and down projections, one rotary call for queries and keys, one cache write, one dispose scope per block): about half the LibTorch calls of the module path. The same model and run, fused against the module path it replaced (`LocalGeneratorOptions.FusedDecoding = false`), measured alternately (model steps: the median of 10 runs of 64 steps each; generator rows: the best of two calls each):");
        section.AppendLine();
        section.AppendLine("| workload | fused | module path | speed-up of the fused path |");
        section.AppendLine("|---|---:|---:|---:|");
        foreach (var (workload, fused, modules) in fusing)
        {
            bool milliseconds = workload.EndsWith("(ms)", StringComparison.Ordinal);
            section.AppendLine(milliseconds
                ? string.Create(CultureInfo.InvariantCulture, $"| {workload} | {fused:F2} | {modules:F2} | {modules / fused:F2}× |")
                : string.Create(CultureInfo.InvariantCulture, $"| {workload} | {fused:F0} | {modules:F0} | {fused / modules:F2}× |"));
        }

        section.AppendLine();
        section.AppendLine("Reproduce: `dotnet run -c Release --project samples/Almost.Benchmarks -- --peers [--zoo small] [--threads 2]`.");
        section.AppendLine(End);

        string existing = File.Exists(outPath) ? File.ReadAllText(outPath) : "";
        int start = existing.IndexOf(Begin, StringComparison.Ordinal), end = existing.IndexOf(End, StringComparison.Ordinal);
        string updated = start >= 0 && end > start
            ? existing[..start] + section.ToString().TrimEnd('\n') + existing[(end + End.Length)..]
            : existing.TrimEnd('\n') + "\n\n" + section;
        Almost.IO.AtomicFile.WriteAllText(outPath, updated);
    }
}
