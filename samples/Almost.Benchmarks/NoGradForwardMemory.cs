using System.Globalization;
using System.Runtime.InteropServices;
using Almost.Models.Llama;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>
/// Peak resident memory of one no-grad forward (hidden states only, no logits) above the memory in use before it,
/// read from the kernel's high-water mark. Linux only.
/// </summary>
/// <remarks>
/// glibc keeps freed heap memory and raises its mmap threshold as large blocks come and go, so a freed activation
/// need not lower the resident size and a later one need not raise it. Pinning the threshold at 1 MiB makes every
/// tensor of interest its own mapping, returned to the kernel when disposed, and trimming the heap first hands back
/// what earlier measurements (training) left free: resident memory then follows live tensors. Run this after the
/// throughput measurements, which should not pay a page fault per large allocation.
/// </remarks>
internal static class NoGradForwardMemory
{
    private const int MmapThresholdOption = -3; // M_MMAP_THRESHOLD in malloc.h
    private const int MmapThresholdBytes = 1 << 20;

    public static bool IsSupported => OperatingSystem.IsLinux() && File.Exists("/proc/self/clear_refs");

    /// <summary>Peak MB above the starting resident size during <c>HiddenStates</c> of a (batch, sequence) input.</summary>
    public static double PeakMegabytes(LlamaForCausalLM model, int batch, int sequence)
    {
        _ = Mallopt(MmapThresholdOption, MmapThresholdBytes);
        model.eval();
        using var generator = new Generator(2);
        using var ids = randint(0, model.Config.VocabSize, [batch, sequence], generator: generator);
        using var noGrad = no_grad();
        using (model.HiddenStates(ids))
        {
            // Warm-up: LibTorch's thread pool and kernels allocate once; that is not the forward's memory.
        }

        GC.Collect();
        _ = MallocTrim(0);
        File.WriteAllText("/proc/self/clear_refs", "5"); // resets VmHWM to the current resident size
        var before = StatusKilobytes("VmRSS:");
        using (model.HiddenStates(ids))
        {
        }

        return (StatusKilobytes("VmHWM:") - before) / 1024.0;
    }

    private static long StatusKilobytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int Mallopt(int option, int value);

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
