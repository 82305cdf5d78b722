using Almost.Models.Llama;

namespace Almost.Core.Tests.Models;

internal static class TinyConfigs
{
    /// <summary>2 layers, 4 query heads / 2 KV heads, head_dim 8, vocab 64.</summary>
    public static LlamaConfig Llama(bool tied = false, string modelType = "llama") => new()
    {
        ModelType = modelType,
        VocabSize = 64,
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 8,
        MaxPositionEmbeddings = 64,
        RopeTheta = 10000,
        RmsNormEps = 1e-6,
        TieWordEmbeddings = tied,
        // Larger init than HF's 0.02 so attention patterns and logits are far from uniform: a wrong mask or rotation
        // then changes the numbers by much more than the tolerance.
        InitializerRange = 0.2,
        BosTokenId = 1,
        EosTokenIds = [2],
        PadTokenId = 0,
    };

    /// <summary>
    /// <see cref="Llama"/> over <see cref="Tokenization.TinyByteLevelBpe"/>'s vocabulary (BOS = EOS = PAD =
    /// <c>&lt;|endoftext|&gt;</c>), 128 positions, and a larger init for peaky distributions: greedy paths differ from
    /// prompt to prompt.
    /// </summary>
    public static LlamaConfig ByteLevelGenerator(int vocabSize) => Llama() with
    {
        VocabSize = vocabSize,
        MaxPositionEmbeddings = 128,
        InitializerRange = 0.5,
        BosTokenId = Tokenization.TinyByteLevelBpe.EndOfText,
        EosTokenIds = [Tokenization.TinyByteLevelBpe.EndOfText],
        PadTokenId = Tokenization.TinyByteLevelBpe.EndOfText,
    };

    /// <summary>Fills every parameter of <paramref name="module"/> whose name ends with <paramref name="suffix"/> with N(0, scale²) values from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Randomize(TorchSharp.torch.nn.Module module, string suffix, long seed, double scale)
    {
        using var noGrad = TorchSharp.torch.no_grad();
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                using var values = TorchSharp.torch.randn(parameter.shape, generator: generator) * scale;
                parameter.copy_(values);
            }
        }
    }

    public static LlamaForCausalLM Create(LlamaConfig config, long seed = 7) =>
        LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", DType = TorchSharp.torch.ScalarType.Float32, Seed = seed });
}
