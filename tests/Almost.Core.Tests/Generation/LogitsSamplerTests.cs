using Almost.Generation;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Generation;

public sealed class LogitsSamplerTests
{
    private static Tensor Logits() => tensor(new float[] { 4f, 3f, 2f, 1f, 0f }).log_softmax(0).unsqueeze(0).expand(2000, 5).contiguous();

    private static HashSet<long> Drawn(double temperature, int topK, double topP)
    {
        using var logits = Logits();
        using var g = new Generator(1);
        using var tokens = LogitsSampler.Sample(logits, temperature, topK, topP, g);
        return tokens.data<long>().ToHashSet();
    }

    [Fact]
    public void Temperature_zero_is_argmax() => Drawn(0, 0, 1).Should().BeEquivalentTo(new long[] { 0 });

    [Fact]
    public void Top_k_keeps_only_the_k_most_likely() => Drawn(1, 2, 1).Should().BeEquivalentTo(new long[] { 0, 1 });

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        // Probabilities ∝ e^4, e^3, ...: ≈ 0.636, 0.234, 0.086, 0.032, 0.012. p = 0.8 needs the first two.
        Drawn(1, 0, 0.8).Should().BeEquivalentTo(new long[] { 0, 1 });
        Drawn(1, 0, 0.5).Should().BeEquivalentTo(new long[] { 0 }, "the first token is always kept");
        Drawn(1, 0, 1.0).Should().BeEquivalentTo(new long[] { 0, 1, 2, 3, 4 });
    }
}
