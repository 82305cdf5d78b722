using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;

namespace Almost.Serve;

/// <summary>The loaded model, its generator and the gate that serialises generation.</summary>
internal sealed record ServedModel(
    string Name,
    LlamaForCausalLM Model,
    AlmostTokenizer Tokenizer,
    LocalGenerator Generator,
    ServeOptions Options,
    ILogger Logger)
{
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public bool AddBos => Options.Generator.AddBos && Tokenizer.BosTokenId is not null;
}
