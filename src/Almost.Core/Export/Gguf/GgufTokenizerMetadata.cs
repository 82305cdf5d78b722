using Almost.Tokenization;

namespace Almost.Export.Gguf;

/// <summary>
/// Writes a tokenizer as llama.cpp's <c>tokenizer.ggml.*</c> keys: byte-level BPE as the <c>gpt2</c> model (tokens
/// in the byte-level alphabet, types, merges, pre-tokenizer name) and SentencePiece as the <c>llama</c> model (pieces,
/// scores, types), then the special token ids and the chat template.
/// </summary>
internal static class GgufTokenizerMetadata
{
    // llama.cpp's token types.
    private const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <summary>Adds the tokenizer keys for a model with <paramref name="vocabSize"/> embedding rows.</summary>
    /// <exception cref="ArgumentException">The tokenizer does not fit the model or cannot be described to llama.cpp.</exception>
    public static void Add(GgufWriter writer, AlmostTokenizer tokenizer, int vocabSize, GgufExportOptions options)
    {
        if (tokenizer.VocabSize > vocabSize)
        {
            throw new ArgumentException(
                $"The tokenizer has {tokenizer.VocabSize} ids but the model's vocab_size is {vocabSize}; they must belong together.",
                nameof(tokenizer));
        }

        bool sentencePiece;
        if (tokenizer.SentencePieceModel is { } proto)
        {
            if (proto.ModelType != SentencePieceModelProto.BpeModel)
            {
                // llama.cpp's "llama" tokenizer merges by score, which is SentencePiece BPE; Unigram models tokenize differently.
                throw new ArgumentException("GGUF export supports SentencePiece BPE models (LLaMA, Mistral, TinyLlama); this tokenizer.model is a Unigram model.", nameof(tokenizer));
            }

            sentencePiece = true;
            AddSentencePiece(writer, tokenizer, proto, vocabSize);
        }
        else if (tokenizer.Inner is HfBpeTokenizer bpe && bpe.Model.ByteLevel)
        {
            sentencePiece = false;
            AddByteLevelBpe(writer, tokenizer, bpe, vocabSize, options);
        }
        else
        {
            throw new ArgumentException(
                $"GGUF export supports byte-level BPE (tokenizer.json, vocab.json + merges.txt) and SentencePiece tokenizers; this one is {tokenizer.Format}.",
                nameof(tokenizer));
        }

        AddId(writer, "tokenizer.ggml.bos_token_id", tokenizer.BosTokenId);
        AddId(writer, "tokenizer.ggml.eos_token_id", tokenizer.EosTokenId);
        AddId(writer, "tokenizer.ggml.unknown_token_id", tokenizer.UnkTokenId);
        AddId(writer, "tokenizer.ggml.padding_token_id", tokenizer.PadTokenId);
        writer.Add("tokenizer.ggml.add_bos_token", options.AddBosToken ?? sentencePiece);
        writer.Add("tokenizer.ggml.add_eos_token", false);
        string? template = options.ChatTemplate
                           ?? tokenizer.ChatTemplateSource
                           ?? (tokenizer.ChatTemplate is TranscriptChatTemplate ? GgufChatTemplates.AlmostTranscript : null);
        if (template is not null)
        {
            writer.Add("tokenizer.chat_template", template);
        }
    }

    private static void AddByteLevelBpe(GgufWriter writer, AlmostTokenizer tokenizer, HfBpeTokenizer bpe, int vocabSize, GgufExportOptions options)
    {
        string pre = options.PreTokenizer
                     ?? (bpe.HfPreTokenizer.IsGpt2
                         ? "gpt-2"
                         : throw new ArgumentException(
                             "The tokenizer's pre-tokenizer is not GPT-2's; set GgufExportOptions.PreTokenizer to llama.cpp's name for it (e.g. qwen2, llama-bpe).",
                             nameof(options)));
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            string? vocabToken = bpe.Model.IdToToken(id);
            string? token = tokenizer.IdToToken(id);
            if (tokenizer.IsSpecialTokenId(id))
            {
                (tokens[id], types[id]) = (token!, Control);
            }
            else if (vocabToken is not null)
            {
                (tokens[id], types[id]) = (vocabToken, Normal);
            }
            else if (token is not null)
            {
                // An added, non-special token: llama.cpp keeps user-defined tokens as plain text.
                (tokens[id], types[id]) = (token, UserDefined);
            }
            else
            {
                (tokens[id], types[id]) = ($"[PAD{id}]", Unused);
            }
        }

        var merges = bpe.Model.Merges
            .Select(m => $"{bpe.Model.IdToToken(m.Left)} {bpe.Model.IdToToken(m.Right)}")
            .ToArray();
        writer.Add("tokenizer.ggml.model", "gpt2");
        writer.Add("tokenizer.ggml.pre", pre);
        writer.Add("tokenizer.ggml.tokens", tokens);
        writer.Add("tokenizer.ggml.token_type", types);
        writer.Add("tokenizer.ggml.merges", merges);
    }

    private static void AddSentencePiece(GgufWriter writer, AlmostTokenizer tokenizer, SentencePieceModelProto proto, int vocabSize)
    {
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            if (id < proto.Pieces.Count)
            {
                var (piece, score, type) = proto.Pieces[id];
                (tokens[id], scores[id], types[id]) = (piece, score, type);
            }
            else if (tokenizer.IdToToken(id) is { } added)
            {
                // Hugging Face added tokens past the SentencePiece model (chat markers).
                (tokens[id], scores[id], types[id]) = (added, 0f, tokenizer.IsSpecialTokenId(id) ? Control : UserDefined);
            }
            else
            {
                (tokens[id], scores[id], types[id]) = ($"[PAD{id}]", 0f, Unused);
            }
        }

        writer.Add("tokenizer.ggml.model", "llama");
        writer.Add("tokenizer.ggml.pre", "default");
        writer.Add("tokenizer.ggml.tokens", tokens);
        writer.Add("tokenizer.ggml.scores", scores);
        writer.Add("tokenizer.ggml.token_type", types);
    }

    private static void AddId(GgufWriter writer, string key, int? id)
    {
        if (id is int value)
        {
            writer.Add(key, (uint)value);
        }
    }
}
