using Almost.Evaluation;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Evaluation;

public sealed class MeanIntervalTests
{
    [Fact]
    public void Mean_interval_equals_the_hand_computed_value()
    {
        // 1, 2, 3, 4: mean 2.5, sample sd sqrt(5/3) = 1.290994, se 0.645497, half-width 1.959964 × se = 1.2651513.
        var m = MeanInterval.Of([1.0, 2.0, 3.0, 4.0]);
        m.Mean.Should().Be(2.5);
        m.Lower.Should().BeApproximately(1.2348487, 1e-6);
        m.Upper.Should().BeApproximately(3.7651513, 1e-6);
        m.Count.Should().Be(4);
        MeanInterval.Of([0.7]).Should().Be(new MeanInterval(0.7, 0.7, 0.7, 1));
    }

    [Fact]
    public void Paired_difference_uses_per_item_differences()
    {
        // Differences 0.4, 0.2, 0.0: mean 0.2, sd 0.2, se 0.115470, half-width 0.226317.
        var d = MeanInterval.PairedDifference([0.9, 0.8, 0.7], [0.5, 0.6, 0.7]);
        d.Mean.Should().BeApproximately(0.2, 1e-12);
        d.Lower.Should().BeApproximately(-0.026317, 1e-6);
        d.Upper.Should().BeApproximately(0.426317, 1e-6);
        d.IsAboveZero.Should().BeFalse();
    }

    [Fact]
    public void Pairing_separates_systems_whose_own_intervals_overlap()
    {
        // B = A − 0.05 on every item, items spread 0..1: the means' intervals overlap, the paired difference is exact.
        var a = Enumerable.Range(0, 50).Select(i => i / 49.0).ToArray();
        var b = a.Select(x => x - 0.05).ToArray();
        MeanInterval.Of(a).IsDisjointFrom(MeanInterval.Of(b)).Should().BeFalse();
        var d = MeanInterval.PairedDifference(a, b);
        d.IsAboveZero.Should().BeTrue();
        d.Mean.Should().BeApproximately(0.05, 1e-12);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_reason()
    {
        FluentActions.Invoking(() => MeanInterval.Of([])).Should().Throw<ArgumentException>().WithMessage("*at least one*");
        FluentActions.Invoking(() => MeanInterval.Of([double.NaN])).Should().Throw<ArgumentException>().WithMessage("*not finite*");
        FluentActions.Invoking(() => MeanInterval.PairedDifference([1.0], [1.0, 2.0])).Should().Throw<ArgumentException>().WithMessage("*1 against 2*");
    }
}
