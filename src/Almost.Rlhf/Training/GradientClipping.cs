using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>Gradient-norm clipping that stays on the device (TorchSharp's <c>clip_grad_norm_</c> returns a host double, a sync per step).</summary>
internal static class GradientClipping
{
    /// <summary>
    /// Computes the global L2 norm of the gradients of <paramref name="parameters"/> and, when
    /// <paramref name="maxNorm"/> &gt; 0, scales them by <c>min(1, maxNorm / (norm + 1e-6))</c> (PyTorch's rule). Nothing
    /// is copied to the host.
    /// </summary>
    /// <param name="parameters">The parameters; those without a gradient are skipped.</param>
    /// <param name="maxNorm">Largest allowed norm; 0 or less only measures.</param>
    /// <returns>The norm before clipping, a 0-d fp32 tensor on the gradients' device (registered in the current dispose scope).</returns>
    public static Tensor ClipGradNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var noGrad = no_grad();
        var grads = new List<Tensor>(parameters.Count);
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is not null)
            {
                grads.Add(g);
            }
        }

        if (grads.Count == 0)
        {
            return zeros(Array.Empty<long>(), dtype: ScalarType.Float32);
        }

        var norms = stack(grads.Select(g => linalg.vector_norm(g.to(ScalarType.Float32))).ToArray());
        var total = linalg.vector_norm(norms);
        if (maxNorm > 0)
        {
            var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
            foreach (var g in grads)
            {
                g.mul_(coefficient.to(g.dtype));
            }
        }

        return total;
    }
}
