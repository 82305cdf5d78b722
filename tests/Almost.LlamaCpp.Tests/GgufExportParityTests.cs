using Almost.Export.Gguf;
using Almost.Models.Llama;
using Almost.Core.Tests.Tokenization;
using Almost.Tokenization;
using FluentAssertions;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Almost.LlamaCpp.Tests;

/// <summary>llama.cpp itself reads our GGUF exports: same ids, same logits, same greedy continuations.</summary>
public sealed class GgufExportParityTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>
    /// F32 logits, absolute: llama.cpp's kernels sum in another order than LibTorch's, nothing more (measured ≤ 7e-6 on
    /// the random models; needs an F32 KV cache and no flash attention, which on CPU rounds K/V to F16).
    /// </summary>
    private const float F32Tolerance = 1e-4f;

    private static readonly string[] Prompts =
    [
        "The capital of Norland is",
        "Human: What is 7 plus 5?\n\nAssistant:",
        "sort the list: pear, apple, fig<|endoftext|>",
    ];

    private readonly string _folder = Directory.CreateTempSubdirectory("almost-gguf-").FullName;

    internal static string ZooTiny => Path.Combine(AppContext.BaseDirectory, "zoo", "tiny");

    internal static AlmostTokenizer ZooTokenizer() => AlmostTokenizer.FromFolder(ZooTiny);

    /// <summary>A random model of a family, weights large enough (std 0.2) that logits differ clearly between tokens.</summary>
    internal static LlamaForCausalLM RandomModel(string modelType, bool tied = false)
    {
        torch.set_num_threads(1);
        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = 1536,
            HiddenSize = 64,
            IntermediateSize = 96,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            RmsNormEps = 1e-5,
            RopeTheta = modelType == "qwen2" ? 1_000_000 : 10_000,
            RopeScaling = modelType == "llama" ? new RopeScaling(RopeScalingType.Linear, 2.0) : null,
            MaxPositionEmbeddings = 256,
            TieWordEmbeddings = tied,
            InitializerRange = 0.2,
        };
        var model = LlamaForCausalLM.Create(config, new ModelOptions { Seed = 7, Device = "cpu" });
        using var noGrad = no_grad();
        using var generator = new Generator(11);
        foreach (var (name, parameter) in model.named_parameters())
        {
            // Random biases and norms, so a wrong bias or norm mapping shows in the logits.
            if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.copy_(1.0 - 0.5 * rand(parameter.shape, generator: generator) + (name.EndsWith(".bias", StringComparison.Ordinal) ? -1.0 : 0.0));
            }
        }

        return model;
    }

    public static TheoryData<string, bool> Families => new() { { "llama", false }, { "mistral", false }, { "qwen2", true } };

    [Theory]
    [MemberData(nameof(Families))]
    public void Random_model_exported_to_F32_gives_llama_cpp_our_ids_logits_and_greedy_tokens(string modelType, bool tied)
    {
        using var model = RandomModel(modelType, tied);
        AssertParity(model, ZooTokenizer(), modelType);
    }

    [Fact]
    public void SentencePiece_tokenizer_exports_pieces_scores_and_byte_fallback_that_llama_cpp_tokenizes_as_we_do()
    {
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"), SentencePieceModel());
        File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"), """{ "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>" }""");
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(_folder);
        tokenizer.Format.Should().Be(TokenizerFormat.SentencePiece);
        using var random = RandomModel("llama");
        var config = random.Config with { VocabSize = tokenizer.VocabSize };
        using var model = LlamaForCausalLM.Create(config, new ModelOptions { Seed = 3, Device = "cpu" });
        var result = model.SaveGguf(Path.Combine(_folder, "spm.gguf"), tokenizer);
        using var probe = new LlamaCppProbe(result.Path);
        foreach (string text in new[] { "the cat sat on the mat", "the hat is on the cat", "café at the mat" })
        {
            int[] ids = tokenizer.Encode(text);
            probe.Tokenize(text).Should().Equal(ids, $"llama.cpp must tokenize \"{text}\" as we do");
            probe.Greedy([tokenizer.BosTokenId!.Value, .. ids], 8).Should().Equal(OurGreedy(model, [tokenizer.BosTokenId!.Value, .. ids], 8));
        }

        tokenizer.Encode("café").Should().Contain(tokenizer.TokenToId("<0xC3>")!.Value, "é is not a piece: byte fallback");
    }

    /// <summary>A SentencePiece BPE model: unk/bos/eos, 256 byte pieces, letters, then merges by descending score.</summary>
    private static byte[] SentencePieceModel()
    {
        var pieces = new List<(string, float, int)>
        {
            ("<unk>", 0, SentencePieceModelWriter.Unknown),
            ("<s>", 0, SentencePieceModelWriter.Control),
            ("</s>", 0, SentencePieceModelWriter.Control),
        };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", 0f, SentencePieceModelWriter.Byte)));
        string[] merged = ["▁t", "he", "▁the", "at", "▁c", "▁cat", "▁s", "▁sat", "▁m", "▁mat", "on", "▁on", "▁h", "▁hat", "is", "▁is", "▁a"];
        pieces.AddRange(merged.Select((p, i) => (p, -1f - i, SentencePieceModelWriter.Normal)));
        pieces.AddRange("▁abcdefhimnostf".Distinct().Select((c, i) => (c.ToString(), -100f - i, SentencePieceModelWriter.Normal)));
        return SentencePieceModelWriter.Write(pieces, SentencePieceModelWriter.Bpe, byteFallback: true, removeExtraWhitespaces: false);
    }

    [Fact]
    public void TinyWorld_zoo_model_exported_to_F32_gives_llama_cpp_our_ids_logits_and_greedy_tokens()
    {
        torch.set_num_threads(1);
        using var model = LlamaForCausalLM.FromPretrained(ZooTiny, new ModelOptions { Device = "cpu" });
        AssertParity(model, ZooTokenizer(), "zoo-tiny");
    }

    [Theory]
    [InlineData(GgufTensorType.F16, 0.95)]
    [InlineData(GgufTensorType.Q8_0, 0.9)]
    public void Zoo_model_exported_to_F16_and_Q8_0_loads_and_mostly_agrees_with_greedy_F32(GgufTensorType type, double minimumAgreement)
    {
        torch.set_num_threads(1);
        using var model = LlamaForCausalLM.FromPretrained(ZooTiny, new ModelOptions { Device = "cpu" });
        var tokenizer = ZooTokenizer();
        var result = model.SaveGguf(Path.Combine(_folder, $"zoo-{type}.gguf"), tokenizer, new GgufExportOptions { TensorType = type });
        result.TensorTypes.Values.Should().Contain(type);
        using var probe = new LlamaCppProbe(result.Path);
        int sameNext = 0, samePrefix = 0, total = 0;
        double maxDiff = 0;
        foreach (string prompt in Prompts)
        {
            int[] ids = tokenizer.Encode(prompt);
            int[] ours = OurGreedy(model, ids, 32);
            // Prefix agreement: tokens until the first difference (after it the two continue different texts).
            samePrefix += ours.Zip(probe.Greedy(ids, 32)).TakeWhile(p => p.First == p.Second).Count();
            // Next-token agreement: on our F32 continuation, how often llama.cpp's argmax is our token.
            int[] sequence = [.. ids, .. ours];
            float[][] logits = probe.Logits(sequence);
            for (int i = 0; i < ours.Length; i++)
            {
                sameNext += LlamaCppProbe.ArgMax(logits[ids.Length - 1 + i]) == ours[i] ? 1 : 0;
            }

            total += ours.Length;
            using var reference = model.Logits(tensor(sequence, dtype: ScalarType.Int64).unsqueeze(0));
            maxDiff = Math.Max(maxDiff, MaxAbsDiff(reference, logits));
        }

        double agreement = (double)sameNext / total;
        output.WriteLine($"{type}: {result.Bytes} bytes; next-token agreement {agreement:P1} ({sameNext}/{total}); "
                         + $"greedy prefix agreement {(double)samePrefix / total:P1}; max |Δlogit| {maxDiff:G3}");
        agreement.Should().BeGreaterThanOrEqualTo(minimumAgreement);
    }

    private void AssertParity(LlamaForCausalLM model, AlmostTokenizer tokenizer, string label)
    {
        var result = model.SaveGguf(Path.Combine(_folder, label + ".gguf"), tokenizer);
        result.TensorTypes.Values.Should().OnlyContain(t => t == GgufTensorType.F32);
        using var probe = new LlamaCppProbe(result.Path);
        probe.VocabSize.Should().Be(model.Config.VocabSize);
        double worst = 0;
        foreach (string prompt in Prompts)
        {
            int[] ids = tokenizer.Encode(prompt);
            probe.Tokenize(prompt).Should().Equal(ids, $"llama.cpp must tokenize \"{prompt}\" as we do");

            float[][] logits = probe.Logits(ids);
            using var reference = model.Logits(tensor(ids, dtype: ScalarType.Int64).unsqueeze(0));
            double diff = MaxAbsDiff(reference, logits);
            worst = Math.Max(worst, diff);
            diff.Should().BeLessThan(F32Tolerance, $"logits of \"{prompt}\"");

            probe.Greedy(ids, 32).Should().Equal(OurGreedy(model, ids, 32), $"greedy continuation of \"{prompt}\"");
        }

        output.WriteLine($"{label}: max |Δlogit| {worst:G3} over {Prompts.Length} prompts");
    }

    private static double MaxAbsDiff(Tensor reference, float[][] logits)
    {
        float[] ours = reference.squeeze(0).contiguous().data<float>().ToArray();
        int vocab = logits[0].Length;
        double max = 0;
        for (int t = 0; t < logits.Length; t++)
        {
            for (int v = 0; v < vocab; v++)
            {
                max = Math.Max(max, Math.Abs(ours[t * vocab + v] - logits[t][v]));
            }
        }

        return max;
    }

    /// <summary>Our greedy continuation, by full forward passes (no cache: the reference should be the plainest path).</summary>
    internal static int[] OurGreedy(LlamaForCausalLM model, IReadOnlyList<int> prompt, int count)
    {
        using var noGrad = no_grad();
        var ids = prompt.ToList();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var logits = model.Logits(tensor(ids.ToArray(), dtype: ScalarType.Int64).unsqueeze(0));
            ids.Add((int)logits[0, -1].argmax().item<long>());
        }

        return ids.Skip(prompt.Count).ToArray();
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
