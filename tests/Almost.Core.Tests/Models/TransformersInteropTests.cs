using System.Text.Json;
using Almost.Models.Llama;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

/// <summary>
/// Checkpoints written by Python transformers 5.17.0 (samples/Almost.Interop/make_transformers_fixtures.py, run on a
/// machine with transformers) load here and give the logits transformers computed, within 1e-4.
/// </summary>
public sealed class TransformersInteropTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "transformers-5.17");

    [Theory]
    [InlineData("hf-llama", "llama", false)]
    [InlineData("hf-qwen2", "qwen2", true)]
    public void Checkpoint_written_by_transformers_loads_and_gives_its_logits(string name, string modelType, bool tied)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "hf_expected.json")));
        var ids = expected.RootElement.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        var mask = expected.RootElement.GetProperty("attention_mask").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        var reference = expected.RootElement.GetProperty(name).GetProperty("logits").EnumerateArray().Select(x => x.GetSingle()).ToArray();

        using var model = LlamaForCausalLM.FromPretrained(Path.Combine(Root, name), new ModelOptions { Device = "cpu" });
        model.Config.ModelType.Should().Be(modelType);
        model.Config.TieWordEmbeddings.Should().Be(tied);
        using var input = tensor(ids.SelectMany(r => r).ToArray()).reshape(ids.Length, ids[0].Length);
        using var attention = tensor(mask.SelectMany(r => r).ToArray()).reshape(ids.Length, ids[0].Length);
        using var logits = model.Logits(input, attention);
        var actual = logits.data<float>().ToArray();
        var vocab = model.Config.VocabSize;
        var maxDiff = 0.0;
        for (var b = 0; b < ids.Length; b++)
        {
            for (var t = 0; t < ids[b].Length; t++)
            {
                if (mask[b][t] == 0)
                {
                    continue; // padding positions are never read; transformers and Almost fill them differently
                }

                for (var v = 0; v < vocab; v++)
                {
                    var i = (b * ids[b].Length + t) * vocab + v;
                    maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - reference[i]));
                }
            }
        }

        maxDiff.Should().BeLessThan(1e-4);
    }
}
