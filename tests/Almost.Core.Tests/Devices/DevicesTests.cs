using Almost.Devices;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Devices;

public sealed class DevicesTests
{
    [Fact]
    public void Explicit_cpu_gives_cpu_and_fp32()
    {
        var device = ComputeDevice.Resolve("cpu");
        device.type.Should().Be(DeviceType.CPU);
        ComputeDevice.ResolveDType(device).Should().Be(ScalarType.Float32);
        ComputeDevice.ResolveDType(DeviceType.CUDA).Should().Be(ScalarType.BFloat16, "CUDA defaults to bf16 weights");
        ComputeDevice.ResolveDType(device, ScalarType.Float16).Should().Be(ScalarType.Float16);
    }

    [Fact]
    public void Unknown_device_and_missing_cuda_are_clear_errors()
    {
        var unknown = () => ComputeDevice.Resolve("tpu");
        unknown.Should().Throw<ArgumentException>().WithMessage("*tpu*cpu, cuda*");
        if (!cuda.is_available())
        {
            var missing = () => ComputeDevice.Resolve("cuda");
            missing.Should().Throw<ArgumentException>().WithMessage("*CUDA is not available*");
        }
    }

    [Fact]
    public void Environment_variable_overrides_the_default_device()
    {
        var before = Environment.GetEnvironmentVariable(ComputeDevice.DeviceVariable);
        try
        {
            Environment.SetEnvironmentVariable(ComputeDevice.DeviceVariable, "bogus");
            var act = () => ComputeDevice.Resolve();
            act.Should().Throw<ArgumentException>().WithMessage("*bogus*ALMOST_DEVICE*");
            Environment.SetEnvironmentVariable(ComputeDevice.DeviceVariable, "cpu");
            ComputeDevice.Resolve().type.Should().Be(DeviceType.CPU);
            ComputeDevice.Resolve("cpu").type.Should().Be(DeviceType.CPU);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ComputeDevice.DeviceVariable, before);
        }
    }

    [Fact]
    public void Dtype_names_parse_and_print()
    {
        ComputeDevice.ParseDType("bf16", "test").Should().Be(ScalarType.BFloat16);
        ComputeDevice.ParseDType("float16", "test").Should().Be(ScalarType.Float16);
        ComputeDevice.DTypeName(ScalarType.BFloat16).Should().Be("bfloat16");
        var act = () => ComputeDevice.ParseDType("int4", "ALMOST_DTYPE");
        act.Should().Throw<ArgumentException>().WithMessage("ALMOST_DTYPE*int4*");
    }

    [Fact]
    public void Seeded_generators_and_managed_randoms_reproduce_and_streams_differ()
    {
        using var g1 = Determinism.CreateGenerator(9, stream: "x");
        using var g2 = Determinism.CreateGenerator(9, stream: "x");
        using var g3 = Determinism.CreateGenerator(9, stream: "y");
        using var r1 = rand(4, generator: g1);
        using var r2 = rand(4, generator: g2);
        using var r3 = rand(4, generator: g3);
        r1.eq(r2).all().item<bool>().Should().BeTrue();
        r1.eq(r3).all().item<bool>().Should().BeFalse();
        Determinism.CreateRandom(3, "s").Next().Should().Be(Determinism.CreateRandom(3, "s").Next());
        Determinism.DeriveSeed(1, "a").Should().Be(Determinism.DeriveSeed(1, "a")).And.NotBe(Determinism.DeriveSeed(2, "a"));
    }

    [Fact]
    public void Native_load_failure_message_names_the_symbol_version_and_the_fix()
    {
        var fakeLib = Path.GetTempFileName();
        try
        {
            File.WriteAllText(fakeLib, "GLIBCXX_3.4.29\0GLIBCXX_3.4.30\0");
            var error = new TypeInitializationException("TorchSharp.torch",
                new DllNotFoundException("libLibTorchSharp.so: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found"));
            var message = TorchNative.Explain(error, fakeLib);
            if (OperatingSystem.IsLinux())
            {
                message.Should().Contain("GLIBCXX_3.4.32").And.Contain("GCC 13").And.Contain("eng/native-prereqs.sh")
                    .And.Contain("trixie").And.Contain("never editing debian.sources").And.Contain(fakeLib);
            }

            message.Should().Contain("version `GLIBCXX_3.4.32' not found", "the loader's own words are kept");
            TorchNative.EnsureLoaded(); // loads here: the prerequisites script ran before the tests.
        }
        finally
        {
            File.Delete(fakeLib);
        }
    }
}
