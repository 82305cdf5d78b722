using Almost.Rlhf.Ppo;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests.Ppo;

public class PpoMathTests
{
    private static float[] Row(Tensor t, int row) => t[row].data<float>().ToArray();

    [Fact]
    public void Gae_matches_a_hand_computed_example_and_padding_gets_nothing()
    {
        using var rewards = tensor(new float[,] { { 0, 0, 1 }, { 0.2f, 1, 9 } });
        using var values = tensor(new float[,] { { 0.5f, 0.6f, 0.7f }, { 0.1f, 0.3f, 5 } });
        using var mask = tensor(new float[,] { { 1, 1, 1 }, { 1, 1, 0 } });

        var (adv, returns) = new GaeAdvantageEstimator(Gamma: 1.0, Lambda: 0.9).Estimate(new AdvantageInput(rewards, values, mask, zeros(2), 1));

        // Row 0: δ = [0.1, 0.1, 0.3]; A2 = 0.3, A1 = 0.1 + 0.9·0.3 = 0.37, A0 = 0.1 + 0.9·0.37 = 0.433.
        Row(adv, 0).Should().Equal([0.433f, 0.37f, 0.3f], (a, b) => Math.Abs(a - b) < 1e-6);
        Row(returns!, 0).Should().Equal([0.933f, 0.97f, 1.0f], (a, b) => Math.Abs(a - b) < 1e-6);
        // Row 1 (last position is padding): δ1 = 1 − 0.3 = 0.7, δ0 = 0.2 + 0.3 − 0.1 = 0.4, A0 = 0.4 + 0.9·0.7 = 1.03.
        Row(adv, 1).Should().Equal([1.03f, 0.7f, 0f], (a, b) => Math.Abs(a - b) < 1e-6);
        Row(returns!, 1)[2].Should().Be(0f);
    }

    [Fact]
    public void Group_estimators_match_hand_computed_rloo_and_grpo_advantages()
    {
        using var mask = tensor(new float[,] { { 1, 1 }, { 1, 0 }, { 1, 1 }, { 1, 1 } });
        using var scores = tensor(new float[] { 1, 2, 3, 6 });
        using var rewards = KlPenalty.TokenRewards(scores, zeros(4, 2), mask, klCoefficient: 0.1);
        var input = new AdvantageInput(rewards, null, mask, scores, GroupSize: 2);

        var (rloo, returns) = new GroupAdvantageEstimator(GroupBaseline.Rloo).Estimate(input);
        returns.Should().BeNull();
        Row(rloo, 0).Should().Equal(-1f, -1f);
        Row(rloo, 1).Should().Equal(1f, 0f);                 // the padding position gets 0
        Row(rloo, 2).Should().Equal(-3f, -3f);
        Row(rloo, 3).Should().Equal(3f, 3f);

        var (grpo, _) = new GroupAdvantageEstimator(GroupBaseline.Grpo).Estimate(input);
        var s = (float)(1 / Math.Sqrt(2));                   // (x − mean) / std with the unbiased std of two values
        Row(grpo, 0)[0].Should().BeApproximately(-s, 1e-5f);
        Row(grpo, 3)[1].Should().BeApproximately(s, 1e-5f);

        var act = () => new GroupAdvantageEstimator().Estimate(input with { GroupSize = 3 });
        act.Should().Throw<ArgumentException>().WithMessage("*group size 3 for 4 rows*");
    }

    [Fact]
    public void Whitening_ignores_padding_whatever_its_value()
    {
        using var mask = tensor(new float[] { 1, 1, 1, 0 });
        using var a = MaskedOps.Whiten(tensor(new float[] { 1, 2, 3, 100 }), mask);
        using var b = MaskedOps.Whiten(tensor(new float[] { 1, 2, 3, -7 }), mask);
        a.data<float>().ToArray().Should().Equal(b.data<float>().ToArray());
        a.data<float>().ToArray().Should().Equal([-1f, 0f, 1f, 0f], (x, y) => Math.Abs(x - y) < 1e-4);
        using var kept = MaskedOps.Whiten(tensor(new float[] { 1, 2, 3, 100 }), mask, shiftMean: false);
        kept[1].item<float>().Should().BeApproximately(2f, 1e-5f, "the mean is added back");
    }

    [Theory]
    [InlineData(KlEstimator.K1)]
    [InlineData(KlEstimator.K3)]
    public void Kl_is_exactly_zero_when_the_policy_equals_the_reference(KlEstimator estimator)
    {
        using var logProbs = tensor(new float[,] { { -1.5f, -0.2f, -3f } });
        using var mask = tensor(new float[,] { { 1, 1, 0 } });
        using var kl = KlPenalty.PerToken(logProbs, logProbs.clone(), mask, estimator);
        kl.data<float>().ToArray().Should().Equal(0f, 0f, 0f);

        using var other = KlPenalty.PerToken(logProbs, logProbs - 0.5f, mask, estimator);
        other[0, 2].item<float>().Should().Be(0f, "padding gets no KL");
        if (estimator == KlEstimator.K3)
        {
            other[0, 0].item<float>().Should().BeApproximately((float)(Math.Exp(-0.5) - 1 + 0.5), 1e-6f);
        }
    }

    [Fact]
    public void Token_rewards_put_the_score_on_the_last_response_token_and_nothing_on_padding()
    {
        using var mask = tensor(new float[,] { { 1, 1, 1 }, { 1, 0, 0 } });
        using var kl = tensor(new float[,] { { 0.1f, 0.2f, 0.3f }, { 0.4f, 9f, 9f } });
        using var rewards = KlPenalty.TokenRewards(tensor(new float[] { 2, -1 }), kl, mask, klCoefficient: 0.5);
        Row(rewards, 0).Should().Equal([-0.05f, -0.1f, 2f - 0.15f], (a, b) => Math.Abs(a - b) < 1e-6);
        Row(rewards, 1).Should().Equal([-1f - 0.2f, 0f, 0f], (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Clipped_policy_and_value_losses_match_hand_computed_values()
    {
        using var mask = tensor(new float[,] { { 1, 1 } });
        using var old = tensor(new float[,] { { 0, 0 } });
        using var now = tensor(new float[,] { { (float)Math.Log(1.5), 0 } });
        using var adv = tensor(new float[,] { { 1, -2 } });
        var (loss, clipFraction, approxKl) = PpoLosses.Policy(now, old, adv, mask, clipRange: 0.2);
        // Token 0: max(−1.5, −1.2) = −1.2 (clipped); token 1: ratio 1 → 2. Mean = 0.4.
        loss.item<float>().Should().BeApproximately(0.4f, 1e-6f);
        clipFraction.item<float>().Should().Be(0.5f);
        approxKl.item<float>().Should().BeApproximately((float)((1.5 - 1 - Math.Log(1.5)) / 2), 1e-6f);

        using var values = tensor(new float[,] { { 1.0f, 0.5f } });
        using var oldValues = tensor(new float[,] { { 0.5f, 0.5f } });
        using var returns = tensor(new float[,] { { 2f, 0f } });
        var (valueLoss, valueClip) = PpoLosses.Value(values, oldValues, returns, mask, clipRange: 0.2);
        // Token 0: unclipped (1 − 2)² = 1, clipped (0.7 − 2)² = 1.69 → 1.69; token 1: 0.25 both. ½·mean = 0.485.
        valueLoss.item<float>().Should().BeApproximately(0.485f, 1e-6f);
        valueClip.item<float>().Should().Be(0.5f);
    }

    [Fact]
    public void Adaptive_kl_controller_follows_the_Ziegler_update()
    {
        var controller = new AdaptiveKlController(initial: 0.1, target: 6, horizon: 10_000);
        controller.Update(currentKl: 12, batchSize: 100);      // error clipped to 0.2
        controller.Value.Should().BeApproximately(0.1 * (1 + (0.2 * 100 / 10_000.0)), 1e-15);
        controller.Update(currentKl: 5.4, batchSize: 100);     // error −0.1
        controller.Value.Should().BeApproximately(0.1002 * (1 - (0.1 * 100 / 10_000.0)), 1e-15);
        var fixedController = new FixedKlController(0.05);
        fixedController.Update(100, 100);
        fixedController.Value.Should().Be(0.05);
    }
}
