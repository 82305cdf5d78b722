using Xunit;

namespace Almost.Core.Tests.Devices;

/// <summary>
/// Tests that seed or read torch's global generator. xunit runs test classes in parallel, and every module constructor
/// (nn.Linear, nn.Embedding) draws its default initialisation from that generator, so such a test only holds when
/// nothing else runs: this collection runs alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "Global torch RNG";
}
