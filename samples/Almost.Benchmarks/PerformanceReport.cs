using System.Globalization;
using System.Text;
using Almost.IO;

namespace Almost.Benchmarks;

/// <summary>
/// Writes docs/performance.md from one benchmark run. Everything from <see cref="KeptMarker"/> on (hand-written notes,
/// before/after tables of past changes) is carried over from the existing file.
/// </summary>
internal static class PerformanceReport
{
    public const string KeptMarker = "<!-- Kept across benchmark runs: notes and measured changes below this line. -->";

    public static void Write(string path, IReadOnlyDictionary<string, object> r)
    {
        string F(string key) => Convert.ToString(r[key], CultureInfo.InvariantCulture) ?? "";
        double D(string key) => Convert.ToDouble(r[key], CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine("# Performance");
        text.AppendLine();
        text.AppendLine("Produced by `dotnet run -c Release --project samples/Almost.Benchmarks` (this file is overwritten by each run).");
        text.AppendLine($"Run on {F("date")}, CPU, {F("cpu_threads")} TorchSharp threads, TorchSharp 0.107.0 (LibTorch 2.10.0), fp32.");
        text.AppendLine();
        text.AppendLine("## Training step throughput (issue: foundation)");
        text.AppendLine();
        text.AppendLine("| measure | value |");
        text.AppendLine("| --- | --- |");
        text.AppendLine($"| fp32 matmul peak, n = 1024 | {D("matmul_fp32_gflops_n1024"):F1} GFLOP/s |");
        text.AppendLine($"| model | {D("model_params") / 1e6:F2} M parameters (LLaMA, 10 layers, hidden 256, vocab 4096) |");
        text.AppendLine($"| forward + backward, batch {F("batch")} × sequence {F("sequence")} | {D("train_tokens_per_s"):F0} tokens/s |");
        text.AppendLine($"| achieved (6 × params × tokens/s) | {D("train_achieved_gflops"):F1} GFLOP/s |");
        text.AppendLine($"| MFU (achieved ÷ matmul peak) | {D("mfu") * 100:F1} % (target ≥ 60 %) |");
        text.AppendLine();
        text.AppendLine("6 × params × tokens counts the matrix products of forward and backward and ignores attention's");
        text.AppendLine("score/value products (≈ 12 × layers × sequence × hidden per token, about 1/6 of the total here), so MFU");
        text.AppendLine("is slightly understated. What limits it on CPU: the non-matmul work (RMSNorm in fp32, SiLU, softmax,");
        text.AppendLine("rotary, cross-entropy over 4096 logits, the gradient of each) is memory-bound and runs at a small fraction");
        text.AppendLine("of matmul speed, and the matrices of a 256-wide model are small enough that LibTorch's threading overhead");
        text.AppendLine("shows; the matmul peak itself is measured on 1024-wide matrices.");
        text.AppendLine();
        text.AppendLine("## Decoding throughput (issue: generation engine)");
        text.AppendLine();
        text.AppendLine("Greedy, 16-token prompts, 128 new tokens. `LocalGenerator` uses the preallocated KV cache; the baseline");
        text.AppendLine("runs the whole prefix through the model for every new token.");
        text.AppendLine();
        text.AppendLine("| batch | KV cache (tokens/s) | recompute (tokens/s) | cache ÷ recompute |");
        text.AppendLine("| --- | --- | --- | --- |");
        foreach (var b in new[] { 1, 32 })
        {
            var c = D($"decode_cache_b{b}_tokens_per_s");
            var n = D($"decode_recompute_b{b}_tokens_per_s");
            text.AppendLine($"| {b} | {c:F0} | {n:F0} | {c / n:F1}× |");
        }

        text.AppendLine();
        var scale = D("decode_cache_b32_tokens_per_s") / D("decode_cache_b1_tokens_per_s");
        text.AppendLine($"Batch 32 ÷ batch 1 with the cache: {scale:F1}× (target ≥ 8×). Targets: cache ≥ 10× recompute.");
        text.AppendLine();
        text.AppendLine("The same decoding with grouped-query attention (8 query heads sharing 2 key/value heads, head_dim 32), and");
        text.AppendLine("tokens per CPU second of the process, the steadier figure when other processes share the machine:");
        text.AppendLine();
        text.AppendLine("| model | batch | KV cache (tokens/s) | KV cache (tokens per CPU second) |");
        text.AppendLine("| --- | --- | --- | --- |");
        foreach (var (prefix, name) in new[] { ("decode", "full attention"), ("decode_gqa", "grouped-query") })
        {
            foreach (var b in new[] { 1, 32 })
            {
                text.AppendLine($"| {name} | {b} | {D($"{prefix}_cache_b{b}_tokens_per_s"):F0} | {D($"{prefix}_cache_b{b}_tokens_per_cpu_s"):F0} |");
            }
        }

        text.AppendLine();
        if (r.ContainsKey("nograd_forward_peak_mb_l10"))
        {
            text.AppendLine("## No-grad forward memory");
            text.AppendLine();
            text.AppendLine("Peak resident memory above the starting point during one no-grad forward (hidden states, batch 32 ×");
            text.AppendLine("sequence 256), glibc's mmap threshold pinned at 1 MiB so that freed tensors leave the resident set:");
            text.AppendLine();
            text.AppendLine("| layers | peak (MB) |");
            text.AppendLine("| --- | --- |");
            text.AppendLine($"| 10 | {D("nograd_forward_peak_mb_l10"):F0} |");
            text.AppendLine($"| 20 | {D("nograd_forward_peak_mb_l20"):F0} |");
            text.AppendLine();
        }

        text.AppendLine("Raw JSON of this run:");
        text.AppendLine();
        text.AppendLine("```json");
        text.AppendLine(System.Text.Json.JsonSerializer.Serialize(r));
        text.AppendLine("```");
        var kept = File.Exists(path) ? File.ReadAllText(path) : "";
        var markerAt = kept.IndexOf(KeptMarker, StringComparison.Ordinal);
        if (markerAt >= 0)
        {
            text.AppendLine();
            text.Append(kept[markerAt..]);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
