namespace Almost.TinyWorld.Pipeline;

/// <summary>
/// The engine that generates from a frozen zoo model (queries, the configurations' responses, the self-play roles and
/// the vanilla baselines). Trained policies always generate with <see cref="Almost.Generation.LocalGenerator"/>.
/// </summary>
public enum FrozenGeneratorBackend
{
    /// <summary>TorchSharp: <see cref="Almost.Generation.LocalGenerator"/> over the zoo checkpoint.</summary>
    Local,

    /// <summary>
    /// llama.cpp: <c>LlamaCppGenerator</c> over an F32 GGUF export of the zoo model, written once to
    /// <c>{output}/gguf/{size}.gguf</c>. Samples differ from <see cref="Local"/>'s (each engine has its own seeded
    /// random stream) but repeat with the seed.
    /// </summary>
    LlamaCpp,
}
