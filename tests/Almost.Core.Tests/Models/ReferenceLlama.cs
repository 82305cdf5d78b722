using Almost.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

/// <summary>
/// An independent, loop-based LLaMA forward over plain double arrays: no TorchSharp op is used in the math, so a bug
/// in the module code (layout of rotate-half, GQA head grouping, mask, norm order) shows up as a mismatch.
/// </summary>
internal sealed class ReferenceLlama
{
    private readonly LlamaConfig _c;
    private readonly Dictionary<string, double[]> _w = new();

    public ReferenceLlama(LlamaForCausalLM model)
    {
        _c = model.Config;
        foreach (var (name, tensor) in model.state_dict())
        {
            _w[name] = tensor.to(ScalarType.Float64).cpu().data<double>().ToArray();
        }
    }

    /// <summary>Logits [T][V] for one unpadded sequence.</summary>
    public double[][] Forward(int[] ids)
    {
        int t = ids.Length, h = _c.HiddenSize, d = _c.HeadDimension, nh = _c.NumAttentionHeads, nkv = _c.KeyValueHeads;
        var x = new double[t][];
        var emb = _w["model.embed_tokens.weight"];
        for (var i = 0; i < t; i++)
        {
            x[i] = emb.AsSpan(ids[i] * h, h).ToArray();
        }

        for (var layer = 0; layer < _c.NumHiddenLayers; layer++)
        {
            var p = $"model.layers.{layer}.";
            var normed = x.Select(r => RmsNorm(r, _w[p + "input_layernorm.weight"])).ToArray();
            var q = normed.Select(r => Linear(r, p + "self_attn.q_proj", nh * d)).ToArray();
            var k = normed.Select(r => Linear(r, p + "self_attn.k_proj", nkv * d)).ToArray();
            var v = normed.Select(r => Linear(r, p + "self_attn.v_proj", nkv * d)).ToArray();
            for (var i = 0; i < t; i++)
            {
                Rope(q[i], nh, i);
                Rope(k[i], nkv, i);
            }

            var attn = new double[t][];
            for (var i = 0; i < t; i++)
            {
                attn[i] = new double[nh * d];
                for (var head = 0; head < nh; head++)
                {
                    var kvHead = head / (nh / nkv);
                    var scores = new double[i + 1];
                    for (var j = 0; j <= i; j++)
                    {
                        double s = 0;
                        for (var e = 0; e < d; e++)
                        {
                            s += q[i][head * d + e] * k[j][kvHead * d + e];
                        }

                        scores[j] = s / Math.Sqrt(d);
                    }

                    var max = scores.Max();
                    var exp = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var sum = exp.Sum();
                    for (var j = 0; j <= i; j++)
                    {
                        for (var e = 0; e < d; e++)
                        {
                            attn[i][head * d + e] += exp[j] / sum * v[j][kvHead * d + e];
                        }
                    }
                }
            }

            for (var i = 0; i < t; i++)
            {
                var o = Linear(attn[i], p + "self_attn.o_proj", h);
                for (var e = 0; e < h; e++)
                {
                    x[i][e] += o[e];
                }

                var n2 = RmsNorm(x[i], _w[p + "post_attention_layernorm.weight"]);
                var gate = Linear(n2, p + "mlp.gate_proj", _c.IntermediateSize);
                var up = Linear(n2, p + "mlp.up_proj", _c.IntermediateSize);
                var act = gate.Select((g, m) => g / (1 + Math.Exp(-g)) * up[m]).ToArray();
                var down = Linear(act, p + "mlp.down_proj", h);
                for (var e = 0; e < h; e++)
                {
                    x[i][e] += down[e];
                }
            }
        }

        var output = _c.TieWordEmbeddings ? "model.embed_tokens" : "lm_head";
        return x.Select(r => Linear(RmsNorm(r, _w["model.norm.weight"]), output, _c.VocabSize)).ToArray();
    }

    private double[] RmsNorm(double[] x, double[] weight)
    {
        var ms = x.Select(a => a * a).Average();
        var inv = 1.0 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((a, i) => a * inv * weight[i]).ToArray();
    }

    private double[] Linear(double[] x, string prefix, int outDim)
    {
        var w = _w[prefix + ".weight"];
        _w.TryGetValue(prefix + ".bias", out var b);
        var y = new double[outDim];
        for (var o = 0; o < outDim; o++)
        {
            double s = b?[o] ?? 0;
            for (var i = 0; i < x.Length; i++)
            {
                s += w[o * x.Length + i] * x[i];
            }

            y[o] = s;
        }

        return y;
    }

    /// <summary>HF rotate-half: pairs (e, e + d/2) rotate by angle pos * theta^(-2e/d).</summary>
    private void Rope(double[] vec, int heads, int pos)
    {
        var d = _c.HeadDimension;
        for (var head = 0; head < heads; head++)
        {
            for (var e = 0; e < d / 2; e++)
            {
                var angle = pos / Math.Pow(_c.RopeTheta, 2.0 * e / d);
                double a = vec[head * d + e], b = vec[head * d + e + d / 2];
                vec[head * d + e] = a * Math.Cos(angle) - b * Math.Sin(angle);
                vec[head * d + e + d / 2] = b * Math.Cos(angle) + a * Math.Sin(angle);
            }
        }
    }
}
