using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Almost.Core.Tests.Checkpoints;

/// <summary>A toy decoder whose state_dict keys look like Hugging Face's: model.embed_tokens.weight,
/// model.layers.{i}.weight/bias, model.norm_scale (a persistent buffer), lm_head.weight. Every value comes from a
/// generator seeded with the constructor's seed, not from torch's global generator, which test classes running in
/// parallel share.</summary>
internal sealed class TinyLm : Module<Tensor, Tensor>
{
    private readonly TinyBackbone model;
    private readonly Linear lm_head;

    public TinyLm(long seed, int vocab = 11, int hidden = 8, int layerCount = 2) : base(nameof(TinyLm))
    {
        model = new TinyBackbone(vocab, hidden, layerCount);
        lm_head = Linear(hidden, vocab, hasBias: false);
        RegisterComponents();
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in named_parameters())
        {
            using var values = randn(parameter.shape, generator: generator);
            parameter.copy_(values);
        }

        foreach (var (_, buffer) in named_buffers())
        {
            using var values = rand(buffer.shape, generator: generator);
            buffer.copy_(values);
        }
    }

    public override Tensor forward(Tensor input) => lm_head.forward(model.forward(input));

    private sealed class TinyBackbone : Module<Tensor, Tensor>
    {
        private readonly Embedding embed_tokens;
        private readonly ModuleList<Linear> layers;

        public TinyBackbone(int vocab, int hidden, int layerCount) : base(nameof(TinyBackbone))
        {
            embed_tokens = Embedding(vocab, hidden);
            layers = ModuleList(Enumerable.Range(0, layerCount).Select(_ => Linear(hidden, hidden)).ToArray());
            register_buffer("norm_scale", torch.ones(hidden)); // filled from the seed by TinyLm
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var x = embed_tokens.forward(input);
            foreach (var layer in layers)
            {
                x = layer.forward(x);
            }
            return x;
        }
    }
}
