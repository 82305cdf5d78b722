// Almost benchmarks: one run measures the machine and the SDK, prints one JSON line, and writes docs/performance.md.
//   dotnet run -c Release --project samples/Almost.Benchmarks [-- --quick] [--threads N] [--out docs/performance.md]
//   ... -- --tokenizers   (tokenizer load and encode speed only; see TokenizerThroughput)
//   ... -- --peers [--zoo small] [--threads 2]   (side-by-side peers: llama.cpp, nn.TransformerEncoder; see PeerBenchmarks)
//   ... -- --frozen-responses out/main/queries.jsonl --generator local|llamacpp [--threads 2]   (the main job's responses stage; see FrozenResponsesBenchmark)
//   ... -- --compaction out/main/queries.jsonl [--threads 2]   (dropping finished rows while decoding; see RowCompactionBenchmark)
//   ... -- --soak [--soak-steps 2000]   (memory over N training steps and N generation batches; see MemorySoak)
//   [--decode-only]: only decoding and no-grad forward memory, JSON on stdout, no report written.
//   [--reward-model]: only the reward-model section (training and scoring pairs/s) of docs/performance.md.
using System.Globalization;
using System.Text.Json;
using Almost.Benchmarks;
using Almost.Devices;
using Almost.Models.Llama;
using TorchSharp;

if (args.Contains("--peers"))
{
    var zooIndex = Array.IndexOf(args, "--zoo");
    var peerThreadsIndex = Array.IndexOf(args, "--threads");
    var peerOutIndex = Array.IndexOf(args, "--out");
    PeerBenchmarks.Run(
        FindRepoRoot(),
        zooIndex >= 0 ? args[zooIndex + 1] : "small",
        peerThreadsIndex >= 0 ? int.Parse(args[peerThreadsIndex + 1], CultureInfo.InvariantCulture) : 2,
        peerOutIndex >= 0 ? args[peerOutIndex + 1] : Path.Combine(FindRepoRoot(), "docs", "performance.md"));
    return;
}

if (args.Contains("--frozen-responses"))
{
    // The main job's responses stage on one backend (docs/performance.md, "Main job: TorchSharp vs llama.cpp ..."):
    //   --frozen-responses out/main/queries.jsonl --generator local|llamacpp [--threads 2]
    var generatorIndex = Array.IndexOf(args, "--generator");
    var frozenThreadsIndex = Array.IndexOf(args, "--threads");
    TorchNative.EnsureLoaded();
    torch.set_num_threads(frozenThreadsIndex >= 0 ? int.Parse(args[frozenThreadsIndex + 1], CultureInfo.InvariantCulture) : 2);
    await FrozenResponsesBenchmark.RunAsync(args[Array.IndexOf(args, "--frozen-responses") + 1],
        Enum.Parse<Almost.TinyWorld.Pipeline.FrozenGeneratorBackend>(generatorIndex >= 0 ? args[generatorIndex + 1] : "local", ignoreCase: true));
    return;
}

if (args.Contains("--compaction"))
{
    // docs/performance.md, "Dropping finished rows": --compaction out/main/queries.jsonl [--threads 2]
    var compactionThreadsIndex = Array.IndexOf(args, "--threads");
    TorchNative.EnsureLoaded();
    torch.set_num_threads(compactionThreadsIndex >= 0 ? int.Parse(args[compactionThreadsIndex + 1], CultureInfo.InvariantCulture) : 2);
    await RowCompactionBenchmark.RunAsync(args[Array.IndexOf(args, "--compaction") + 1]);
    return;
}

if (args.Contains("--soak"))
{
    // The memory soak of docs/reliability.md: --soak [--soak-steps 2000]
    var stepsIndex = Array.IndexOf(args, "--soak-steps");
    torch.set_num_threads(1);
    await MemorySoak.RunAsync(stepsIndex >= 0 ? int.Parse(args[stepsIndex + 1], CultureInfo.InvariantCulture) : 2000);
    return;
}

if (args.Contains("--save-loop") || args.Contains("--check"))
{
    // The kill -9 check of docs/reliability.md (eng/kill-test.sh).
    torch.set_num_threads(1);
    var loop = Array.IndexOf(args, "--save-loop");
    if (loop >= 0)
    {
        KillSafety.SaveLoop(args[loop + 1]);
    }

    Environment.ExitCode = KillSafety.Check(args[Array.IndexOf(args, "--check") + 1]);
    return;
}

if (args.Contains("--tokenizers"))
{
    TokenizerThroughput.Run(FindRepoRoot());
    return;
}

var quick = args.Contains("--quick");
var decodeOnly = args.Contains("--decode-only");
var outIndex = Array.IndexOf(args, "--out");
var outPath = outIndex >= 0 ? args[outIndex + 1] : Path.Combine(FindRepoRoot(), "docs", "performance.md");
TorchNative.EnsureLoaded();
var threadsIndex = Array.IndexOf(args, "--threads");
if (threadsIndex >= 0)
{
    torch.set_num_threads(int.Parse(args[threadsIndex + 1], CultureInfo.InvariantCulture));
}

var threads = torch.get_num_threads();
if (args.Contains("--reward-model"))
{
    RewardModelThroughput.Report(outPath, quick);
    return;
}

var result = new Dictionary<string, object>
{
    ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    ["cpu_threads"] = threads,
};
var config = TrainingThroughput.TenMillion;
using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", Seed = 0 });
if (!decodeOnly)
{
    // 1. Machine: fp32 matmul peak at n = 1024.
    var peak = TrainingThroughput.MatmulPeakGflops(1024, quick ? 1 : 5);
    Console.Error.WriteLine($"matmul n=1024 fp32: {peak:F1} GFLOP/s ({threads} threads)");

    // 2. Training throughput: ~10M parameters, sequence 256.
    var parameters = config.ParameterCount;
    const int batch = 8, sequence = 256;
    var tokensPerSecond = TrainingThroughput.ForwardBackwardTokensPerSecond(model, batch, sequence, quick ? 2 : 6);
    var achieved = 6.0 * parameters * tokensPerSecond / 1e9;
    var mfu = achieved / peak;
    Console.Error.WriteLine($"fwd+bwd {parameters / 1e6:F2}M params, batch {batch} x seq {sequence}: {tokensPerSecond:F0} tokens/s, {achieved:F1} GFLOP/s, MFU {mfu:P1}");
    result["matmul_fp32_gflops_n1024"] = Math.Round(peak, 1);
    result["model_params"] = parameters;
    result["batch"] = batch;
    result["sequence"] = sequence;
    result["train_tokens_per_s"] = Math.Round(tokensPerSecond, 1);
    result["train_achieved_gflops"] = Math.Round(achieved, 1);
    result["mfu"] = Math.Round(mfu, 3);
}

// 3. Decoding: the ~10M model with full attention, then with grouped-query attention (cache only).
foreach (var (key, value) in DecodeThroughput.Run(model, quick))
{
    result[key] = value;
}

using (var gqa = LlamaForCausalLM.Create(TrainingThroughput.TenMillionGqa, new ModelOptions { Device = "cpu", Seed = 0 }))
{
    foreach (var (key, value) in DecodeThroughput.Run(gqa, quick, prefix: "decode_gqa", withRecompute: false))
    {
        result[key] = value;
    }
}

// 4. Peak memory of a no-grad forward at 10 and 20 layers (last: it changes the allocator's settings).
if (NoGradForwardMemory.IsSupported)
{
    result["nograd_forward_peak_mb_l10"] = Math.Round(NoGradForwardMemory.PeakMegabytes(model, 32, 256), 1);
    using var deep = LlamaForCausalLM.Create(config with { NumHiddenLayers = 20 }, new ModelOptions { Device = "cpu", Seed = 0 });
    result["nograd_forward_peak_mb_l20"] = Math.Round(NoGradForwardMemory.PeakMegabytes(deep, 32, 256), 1);
    Console.Error.WriteLine($"no-grad forward 32 x 256 peak: {result["nograd_forward_peak_mb_l10"]} MB at 10 layers, {result["nograd_forward_peak_mb_l20"]} MB at 20");
}

var json = JsonSerializer.Serialize(result);
Console.WriteLine(json);
if (!decodeOnly)
{
    PerformanceReport.Write(outPath, result);
    RewardModelThroughput.Report(outPath, quick);
    Console.Error.WriteLine($"wrote {outPath}");
}

static string FindRepoRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Almost.sln")))
    {
        dir = dir.Parent;
    }

    return dir?.FullName ?? Directory.GetCurrentDirectory();
}
