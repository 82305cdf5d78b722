using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Devices;

/// <summary>
/// Chooses the device and dtype every model and trainer runs on: CUDA when available, otherwise CPU; fp32 on CPU and
/// bf16 weights on CUDA (norms, softmax and logits stay fp32 inside the model).
/// </summary>
/// <remarks>
/// Precedence: an explicit argument, then the environment variables <see cref="DeviceVariable"/>
/// (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>) and <see cref="DTypeVariable"/> (<c>float32</c>, <c>bfloat16</c>,
/// <c>float16</c>), then the default.
/// </remarks>
public static class ComputeDevice
{
    /// <summary>Environment variable that overrides the default device.</summary>
    public const string DeviceVariable = "ALMOST_DEVICE";

    /// <summary>Environment variable that overrides the default weight dtype.</summary>
    public const string DTypeVariable = "ALMOST_DTYPE";

    /// <summary>Resolves a device: <paramref name="requested"/>, else $ALMOST_DEVICE, else CUDA when available, else CPU.</summary>
    /// <exception cref="ArgumentException">The name is not a device TorchSharp knows, or CUDA was asked for and is absent.</exception>
    public static Device Resolve(string? requested = null)
    {
        TorchNative.EnsureLoaded();
        var name = !string.IsNullOrWhiteSpace(requested) ? requested : Environment.GetEnvironmentVariable(DeviceVariable);
        if (string.IsNullOrWhiteSpace(name))
        {
            return cuda.is_available() ? CUDA : CPU;
        }

        name = name.Trim().ToLowerInvariant();
        var match = System.Text.RegularExpressions.Regex.Match(name, "^(cpu|cuda)(?::([0-9]+))?$");
        if (!match.Success)
        {
            throw new ArgumentException($"Unknown device '{name}' (from {Source(requested)}); expected cpu, cuda or cuda:N.", nameof(requested));
        }

        if (match.Groups[1].Value == "cpu")
        {
            return CPU;
        }

        var index = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (!cuda.is_available() || index >= cuda.device_count())
        {
            throw new ArgumentException(
                $"Device '{name}' (from {Source(requested)}) was asked for, but CUDA is not available" +
                (cuda.is_available() ? $" with {cuda.device_count()} device(s)" : "") +
                ": reference a TorchSharp CUDA package and run on a machine with an NVIDIA driver, or use cpu.", nameof(requested));
        }

        return new Device(DeviceType.CUDA, index);
    }

    /// <summary>
    /// Resolves the weight dtype for <paramref name="device"/>: <paramref name="requested"/>, else $ALMOST_DTYPE,
    /// else fp32 on CPU and bf16 on CUDA.
    /// </summary>
    public static ScalarType ResolveDType(Device device, ScalarType? requested = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        return ResolveDType(device.type, requested);
    }

    /// <summary>As <see cref="ResolveDType(Device, ScalarType?)"/>, for a device type.</summary>
    public static ScalarType ResolveDType(DeviceType deviceType, ScalarType? requested = null)
    {
        if (requested is { } dtype)
        {
            return dtype;
        }

        var name = Environment.GetEnvironmentVariable(DTypeVariable);
        if (!string.IsNullOrWhiteSpace(name))
        {
            return ParseDType(name, DTypeVariable);
        }

        return deviceType == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32;
    }

    /// <summary>Parses a Hugging Face / PyTorch dtype name (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>, <c>fp32</c>, ...).</summary>
    /// <param name="name">The name.</param>
    /// <param name="source">Where the name came from, for the error message.</param>
    public static ScalarType ParseDType(string name, string source)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "float" or "torch.float32" => ScalarType.Float32,
            "bfloat16" or "bf16" or "torch.bfloat16" => ScalarType.BFloat16,
            "float16" or "fp16" or "half" or "torch.float16" => ScalarType.Float16,
            _ => throw new ArgumentException($"{source}: unknown dtype '{name}'; expected float32, bfloat16 or float16."),
        };
    }

    /// <summary>The Hugging Face name of a floating dtype (<c>float32</c>, <c>bfloat16</c>, <c>float16</c>).</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => throw new ArgumentException($"Unsupported model dtype {dtype}; expected Float32, BFloat16 or Float16.", nameof(dtype)),
    };

    private static string Source(string? requested) => string.IsNullOrWhiteSpace(requested) ? $"${DeviceVariable}" : "the options";
}
