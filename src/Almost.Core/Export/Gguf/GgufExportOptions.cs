namespace Almost.Export.Gguf;

/// <summary>How <see cref="GgufExporter"/> writes a model for llama.cpp.</summary>
public sealed record GgufExportOptions
{
    /// <summary>
    /// Storage type of the weight matrices. Default <see cref="GgufTensorType.F32"/> (exact). Norms and biases stay F32
    /// whatever this says.
    /// </summary>
    public GgufTensorType TensorType { get; init; } = GgufTensorType.F32;

    /// <summary><c>general.name</c>, shown by llama.cpp and Ollama. Default <c>"almost-model"</c>.</summary>
    public string Name { get; init; } = "almost-model";

    /// <summary>
    /// The Jinja chat template written as <c>tokenizer.chat_template</c> (llama.cpp, Ollama and LM Studio render chats
    /// with it). Default null: the tokenizer's own <c>chat_template</c> from <c>tokenizer_config.json</c>; when it has
    /// none, a tokenizer whose chat format is the Human/Assistant transcript gets <see cref="GgufChatTemplates.AlmostTranscript"/>,
    /// and others get no template.
    /// </summary>
    public string? ChatTemplate { get; init; }

    /// <summary>
    /// llama.cpp's name for the byte-level BPE pre-tokenizer (<c>tokenizer.ggml.pre</c>: <c>gpt-2</c>, <c>qwen2</c>,
    /// <c>llama-bpe</c>, ...). Default null: detected, which works for GPT-2's pre-tokenizer (TinyWorld, GPT-2);
    /// other byte-level tokenizers must name theirs. Ignored for SentencePiece.
    /// </summary>
    public string? PreTokenizer { get; init; }

    /// <summary>
    /// <c>tokenizer.ggml.add_bos_token</c>: whether llama.cpp prepends BOS when it tokenizes a prompt. Default null:
    /// true for SentencePiece (the LLaMA convention), false for byte-level BPE (GPT-2, Qwen2, TinyWorld).
    /// </summary>
    public bool? AddBosToken { get; init; }

    /// <summary>
    /// <c>{arch}.context_length</c>. Default null: the config's <c>max_position_embeddings</c>.
    /// </summary>
    public int? ContextLength { get; init; }
}
