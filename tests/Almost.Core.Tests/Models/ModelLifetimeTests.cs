using Almost.Models.Llama;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

public sealed class ModelLifetimeTests
{
    [Fact]
    public void Forwards_leave_no_tensor_alive_once_the_model_is_disposed_rotary_frequencies_included()
    {
        // TorchSharp counts live tensors per thread, so tests on other threads do not disturb the count. Building a
        // model leaves a few handles to TorchSharp's GC (parameter wrappers), so the baseline is a model that never ran.
        using var ids = tensor(new long[] { 1, 5, 9, 33, 12 }).reshape(1, 5);
        var neverRan = LiveTensorsLeftBy(_ => { });
        var ran = LiveTensorsLeftBy(model =>
        {
            using var noGrad = no_grad();
            for (var i = 0; i < 3; i++)
            {
                using var output = model.forward(ids);
            }

            using var cache = model.CreateCache(1, 8);
            using var prefill = model.forward(ids, cache: cache);
        });

        ran.Should().Be(neverRan);
    }

    private static long LiveTensorsLeftBy(Action<LlamaForCausalLM> use)
    {
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var model = TinyConfigs.Create(TinyConfigs.Llama()))
        {
            use(model);
        }

        return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
    }
}
