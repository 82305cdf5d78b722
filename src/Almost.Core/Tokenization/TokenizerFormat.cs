namespace Almost.Tokenization;

/// <summary>The file format an <see cref="AlmostTokenizer"/> was loaded from.</summary>
public enum TokenizerFormat
{
    /// <summary>Built by hand around an inner tokenizer.</summary>
    Custom,

    /// <summary>A SentencePiece <c>tokenizer.model</c> (LLaMA, TinyLlama, Mistral).</summary>
    SentencePiece,

    /// <summary>Byte-level BPE from <c>vocab.json</c> + <c>merges.txt</c> (GPT-2 style).</summary>
    ByteLevelBpe,

    /// <summary>Byte-level BPE from a Hugging Face <c>tokenizer.json</c> (SmolLM, Qwen2, GPT-2, TinyWorld).</summary>
    HuggingFaceJson,

    /// <summary>A tiktoken encoding shipped in a Microsoft.ML.Tokenizers data package.</summary>
    Tiktoken,
}
