using Almost.Devices;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Devices;

[Collection(GlobalRngCollection.Name)]
public sealed class GlobalSeedTests
{
    [Fact]
    public void SeedEverything_reproduces_draws_from_the_global_generator()
    {
        Determinism.SeedEverything(5);
        using var a = rand(4);
        Determinism.SeedEverything(5);
        using var b = rand(4);
        a.eq(b).all().item<bool>().Should().BeTrue();
    }
}
