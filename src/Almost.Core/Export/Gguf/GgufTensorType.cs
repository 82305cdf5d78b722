namespace Almost.Export.Gguf;

/// <summary>
/// The ggml storage type of an exported weight matrix. Values are ggml's own type ids, as written in the file.
/// Norm weights and biases are always stored as <see cref="F32"/>.
/// </summary>
public enum GgufTensorType
{
    /// <summary>32-bit floats: exact, the reference for checking an export.</summary>
    F32 = 0,

    /// <summary>IEEE half precision: half the size, logits within about 1e-3 of F32.</summary>
    F16 = 1,

    /// <summary>
    /// 8-bit blocks of 32 values with one half-precision scale each (34 bytes per 32 weights). A matrix whose rows are
    /// not a multiple of 32 long falls back to <see cref="F16"/>, as llama.cpp's own converter does.
    /// </summary>
    Q8_0 = 8,
}
