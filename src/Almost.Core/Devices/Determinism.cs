using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Devices;

/// <summary>
/// One place to seed every random number generator the SDK uses, so the same seed, device and data give the same numbers.
/// </summary>
/// <remarks>
/// Library code never draws from the global generators: every random choice takes a seed or a <see cref="Generator"/>
/// made here. <see cref="SeedEverything"/> exists for user code and samples that still use the globals.
/// </remarks>
public static class Determinism
{
    /// <summary>Seeds TorchSharp's CPU generator and every CUDA device's generator.</summary>
    public static void SeedEverything(long seed)
    {
        TorchNative.EnsureLoaded();
        random.manual_seed(seed);
        if (cuda.is_available())
        {
            cuda.manual_seed_all(seed);
        }
    }

    /// <summary>
    /// A TorchSharp generator on <paramref name="device"/> seeded from <paramref name="seed"/> and a stream name, so
    /// independent consumers (initialisation, dropout, sampling) never share a sequence.
    /// </summary>
    public static Generator CreateGenerator(long seed, Device? device = null, string stream = "")
    {
        TorchNative.EnsureLoaded();
        var generator = new Generator((ulong)DeriveSeed(seed, stream), device ?? CPU);
        return generator;
    }

    /// <summary>A managed <see cref="Random"/> seeded from <paramref name="seed"/> and a stream name.</summary>
    public static Random CreateRandom(long seed, string stream = "") => new(unchecked((int)DeriveSeed(seed, stream)));

    /// <summary>
    /// Mixes a seed with a stream name into a new non-negative 63-bit seed (SplitMix64 over FNV-1a of the name); the same
    /// inputs give the same output on every platform and run.
    /// </summary>
    public static long DeriveSeed(long seed, string stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ulong h = 14695981039346656037UL;
        foreach (var c in stream)
        {
            h ^= c;
            h *= 1099511628211UL;
        }

        ulong z = unchecked((ulong)seed + h + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (long)(z & 0x7FFFFFFFFFFFFFFFUL);
    }
}
