using Microsoft.ML.Tokenizers;

namespace Almost.Tokenization;

/// <summary>
/// The tokenizer every Almost component uses: a thin adapter over a <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>
/// (SentencePiece, byte-level BPE or tiktoken) that adds what training and generation need and the library leaves
/// to the caller: the BOS/EOS/PAD tokens, the special-token table, id ↔ token lookups and the vocabulary size.
/// Load one with <see cref="TokenizerLoader"/> (<see cref="FromFolder"/> is a shortcut).
/// </summary>
/// <remarks>
/// Special tokens written in the text (for example <c>&lt;|endoftext|&gt;</c> or <c>&lt;|im_end|&gt;</c>) encode to
/// their single id: the loaders build the inner tokenizer with the special-token table. Instances are immutable.
/// </remarks>
public sealed class AlmostTokenizer
{
    private readonly IReadOnlyDictionary<string, int> _innerVocab;
    private readonly Func<int, string?> _innerIdToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<int, string> _idToToken;
    private readonly HashSet<int> _specialIds;

    /// <summary>
    /// Wraps a tokenizer. Use this for a tokenizer built by hand; the <see cref="TokenizerLoader"/> factories call it
    /// with the right arguments for each file format.
    /// </summary>
    /// <param name="inner">
    /// The library tokenizer. It must already recognise <paramref name="specialTokens"/> in text (pass them to its
    /// factory); this class does not split text itself.
    /// </param>
    /// <param name="specialTokens">
    /// Special tokens (text → id): skipped by <see cref="Decode"/> when asked; null for none. Tokens the inner
    /// tokenizer reports as special are added.
    /// </param>
    /// <param name="bosToken">The beginning-of-sequence token text, or null if the model has none.</param>
    /// <param name="eosToken">The end-of-sequence token text, or null if the model has none.</param>
    /// <param name="padToken">The padding token text, or null (then <see cref="PadTokenId"/> falls back to EOS).</param>
    /// <param name="unkToken">The unknown token text, or null.</param>
    /// <param name="format">Which file format the tokenizer came from.</param>
    /// <param name="addedTokens">
    /// Tokens that are matched as a whole in text but are not special (Hugging Face <c>added_tokens</c> with
    /// <c>"special": false</c>); kept by <see cref="Decode"/> even when skipping special tokens. Null for none.
    /// </param>
    /// <param name="chatTemplate">
    /// The model's chat format (see <see cref="ChatTemplate"/>), or null. Its <see cref="IChatTemplate.RequiredTokens"/>
    /// must be special or added tokens.
    /// </param>
    /// <exception cref="ArgumentException">
    /// A BOS/EOS/PAD/UNK token is not in the vocabulary, or a token the chat template needs is not a special or
    /// added token.
    /// </exception>
    public AlmostTokenizer(
        Tokenizer inner,
        IReadOnlyDictionary<string, int>? specialTokens = null,
        string? bosToken = null,
        string? eosToken = null,
        string? padToken = null,
        string? unkToken = null,
        TokenizerFormat format = TokenizerFormat.Custom,
        IReadOnlyDictionary<string, int>? addedTokens = null,
        IChatTemplate? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
        Format = format;

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in InnerSpecialTokens(inner) ?? new Dictionary<string, int>())
        {
            special[token] = id;
        }

        foreach (var (token, id) in specialTokens ?? new Dictionary<string, int>())
        {
            special[token] = id;
        }

        if (addedTokens is not null)
        {
            foreach (string token in addedTokens.Keys)
            {
                special.Remove(token);
            }
        }

        // The inner vocabulary is looked up in place, not copied: Llama 3's and Qwen's have 128k-152k entries.
        _innerVocab = InnerVocabulary(inner) ?? new Dictionary<string, int>();
        _tokenToId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in special.Concat(addedTokens ?? new Dictionary<string, int>()))
        {
            _tokenToId[token] = id;
        }

        _idToToken = new Dictionary<int, string>();
        if (inner is HfBpeTokenizer hf)
        {
            _innerIdToToken = hf.IdToToken;
            VocabSize = hf.MaxId + 1;
        }
        else
        {
            var byId = new Dictionary<int, string>(_innerVocab.Count);
            foreach (var (token, id) in _innerVocab)
            {
                byId.TryAdd(id, token);
            }

            _innerIdToToken = id => byId.GetValueOrDefault(id);
            VocabSize = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        }

        foreach (var (token, id) in _tokenToId)
        {
            if (special.ContainsKey(token) || _innerIdToToken(id) is null)
            {
                // Special tokens win when a vocabulary lists the same id twice.
                _idToToken.TryAdd(id, token);
            }

            VocabSize = Math.Max(VocabSize, id + 1);
        }

        foreach (var (token, id) in special)
        {
            _idToToken[id] = token;
        }

        SpecialTokens = special;
        _specialIds = [.. special.Values];

        BosToken = bosToken;
        EosToken = eosToken;
        PadToken = padToken;
        UnkToken = unkToken;
        BosTokenId = Resolve(bosToken, nameof(bosToken));
        EosTokenId = Resolve(eosToken, nameof(eosToken));
        PadTokenId = Resolve(padToken, nameof(padToken)) ?? EosTokenId;
        UnkTokenId = Resolve(unkToken, nameof(unkToken));
        if (chatTemplate is not null)
        {
            RequireChatTemplateTokens(chatTemplate);
        }

        ChatTemplate = chatTemplate;
    }

    /// <summary>
    /// The SentencePiece model this tokenizer was loaded from (pieces, scores and types), or null for other formats;
    /// exporters that write the vocabulary out again (GGUF) read it.
    /// </summary>
    internal SentencePieceModelProto? SentencePieceModel { get; init; }

    /// <summary>The Jinja <c>chat_template</c> source from <c>tokenizer_config.json</c>, or null; exporters copy it.</summary>
    internal string? ChatTemplateSource { get; init; }

    /// <summary>The underlying Microsoft.ML.Tokenizers tokenizer, for anything this adapter does not expose.</summary>
    public Tokenizer Inner { get; }

    /// <summary>The file format the tokenizer was loaded from.</summary>
    public TokenizerFormat Format { get; }

    /// <summary>
    /// The number of ids the model's embedding must cover: one more than the largest id of the vocabulary and the
    /// special tokens. For tiktoken tokenizers (whose full vocabulary the library does not expose) it is one more
    /// than the largest special-token id, which is right for GPT-2 (50257).
    /// </summary>
    public int VocabSize { get; }

    /// <summary>Special tokens (text → id). They encode to one id when written in text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The beginning-of-sequence token text, or null if the model has none.</summary>
    public string? BosToken { get; }

    /// <summary>The end-of-sequence token text, or null if the model has none.</summary>
    public string? EosToken { get; }

    /// <summary>The padding token text as configured, or null when the tokenizer defines none.</summary>
    public string? PadToken { get; }

    /// <summary>The unknown token text, or null.</summary>
    public string? UnkToken { get; }

    /// <summary>The id of <see cref="BosToken"/>, or null.</summary>
    public int? BosTokenId { get; }

    /// <summary>The id of <see cref="EosToken"/>, or null.</summary>
    public int? EosTokenId { get; }

    /// <summary>
    /// The id used to pad batches: the id of <see cref="PadToken"/> when the tokenizer defines one, otherwise
    /// <see cref="EosTokenId"/> (the usual choice for LLaMA and GPT-2 models, whose tokenizers ship no pad token);
    /// null only when there is neither. Padded positions are masked out, so the fallback does not change results.
    /// </summary>
    public int? PadTokenId { get; }

    /// <summary>The id of <see cref="UnkToken"/>, or null.</summary>
    public int? UnkTokenId { get; }

    /// <summary>
    /// The model's chat format, read from <c>tokenizer_config.json</c>'s <c>chat_template</c> when it is one of the
    /// families <see cref="ChatTemplateFamily"/> recognises (ChatML, Llama 3, <c>[INST]</c>, Zephyr); null when the
    /// config has none or one of another family.
    /// </summary>
    public IChatTemplate? ChatTemplate { get; }

    /// <summary>
    /// Checks that every token a chat format writes (<see cref="IChatTemplate.RequiredTokens"/>) is a special or
    /// added token here, so it encodes to its one id; a base model whose vocabulary lacks them would otherwise read
    /// the markup as plain text and silently learn the wrong thing.
    /// </summary>
    /// <param name="template">The chat format.</param>
    /// <exception cref="ArgumentException">Some required token is not a special or added token; the message names them.</exception>
    public void RequireChatTemplateTokens(IChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        string[] missing = template.RequiredTokens.Where(t => !_tokenToId.ContainsKey(t)).ToArray();
        if (missing.Length > 0)
        {
            throw new ArgumentException(
                $"The chat template {template.GetType().Name} writes {string.Join(", ", missing.Select(t => $"'{t}'"))}, which "
                + (missing.Length == 1 ? "is not a special or added token" : "are not special or added tokens")
                + " of this tokenizer; they would be encoded as plain text. Use a tokenizer that defines them or another template.",
                nameof(template));
        }
    }

    /// <summary>Loads the tokenizer in a Hugging Face model folder; see <see cref="TokenizerLoader.FromFolder"/>.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="TokenizerLoadException">Nothing usable in the folder, or a file is malformed.</exception>
    public static AlmostTokenizer FromFolder(string folder) => TokenizerLoader.FromFolder(folder);

    /// <summary>Encodes text to token ids. Special tokens written in the text become their single id.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addBos">
    /// Prepend <see cref="BosTokenId"/>. Ignored when the tokenizer has no BOS token (as Hugging Face does for
    /// Qwen2 and similar models).
    /// </param>
    /// <returns>The ids.</returns>
    public int[] Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> ids;
        if (Inner is HfBpeTokenizer hf)
        {
            var list = new List<int>(text.Length / 3 + 2);
            if (addBos && BosTokenId is int first)
            {
                list.Add(first);
            }

            hf.EncodeTo(text, list);
            return [.. list];
        }

        ids = Inner.EncodeToIds(text);
        if (!addBos || BosTokenId is not int bos)
        {
            return [.. ids];
        }

        var result = new int[ids.Count + 1];
        result[0] = bos;
        for (int i = 0; i < ids.Count; i++)
        {
            result[i + 1] = ids[i];
        }

        return result;
    }

    /// <summary>Decodes token ids to text.</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="skipSpecialTokens">Leave out the ids of <see cref="SpecialTokens"/> (BOS, EOS, PAD, ...).</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int[] kept = skipSpecialTokens ? ids.Where(id => !_specialIds.Contains(id)).ToArray() : ids.ToArray();

        // The library's SentencePiece decoder drops control pieces (<s>, </s>, <unk>) unless asked to keep them.
        return (Inner is SentencePieceTokenizer sentencePiece ? sentencePiece.Decode(kept, considerSpecialTokens: true) : Inner.Decode(kept))
            ?? string.Empty;
    }

    /// <summary>Whether an id belongs to a special token.</summary>
    /// <param name="id">The id.</param>
    /// <returns>True for special-token ids.</returns>
    public bool IsSpecialTokenId(int id) => _specialIds.Contains(id);

    /// <summary>
    /// The id of a token, written as the vocabulary writes it (byte-level BPE: <c>"Ġworld"</c>; SentencePiece:
    /// <c>"▁world"</c>; tiktoken: the decoded text <c>" world"</c>), or null if it is not one token.
    /// </summary>
    /// <param name="token">The token text.</param>
    /// <returns>The id, or null.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_tokenToId.TryGetValue(token, out int id) || _innerVocab.TryGetValue(token, out id))
        {
            return id;
        }

        if (Inner is TiktokenTokenizer && token.Length > 0)
        {
            IReadOnlyList<int> ids = Inner.EncodeToIds(token);
            return ids.Count == 1 ? ids[0] : null;
        }

        return null;
    }

    /// <summary>
    /// The token of an id as the vocabulary writes it (see <see cref="TokenToId"/>); for tiktoken tokenizers the
    /// decoded text of the id. Null when the id is unknown.
    /// </summary>
    /// <param name="id">The id.</param>
    /// <returns>The token text, or null.</returns>
    public string? IdToToken(int id)
    {
        if (_idToToken.TryGetValue(id, out string? token) || (token = _innerIdToToken(id)) is not null)
        {
            return token;
        }

        if (Inner is TiktokenTokenizer && id >= 0 && id < VocabSize)
        {
            return Inner.Decode([id]);
        }

        return null;
    }

    private int? Resolve(string? token, string parameterName)
    {
        if (token is null)
        {
            return null;
        }

        return TokenToId(token)
            ?? throw new ArgumentException($"The token '{token}' is not in the tokenizer's vocabulary.", parameterName);
    }

    private static IReadOnlyDictionary<string, int>? InnerVocabulary(Tokenizer inner) => inner switch
    {
        HfBpeTokenizer hf => hf.Vocabulary,
        BpeTokenizer bpe => bpe.Vocabulary,
        SentencePieceTokenizer sp => sp.Vocabulary,
        CodeGenTokenizer codeGen => codeGen.Vocabulary,
        _ => null,
    };

    private static IReadOnlyDictionary<string, int>? InnerSpecialTokens(Tokenizer inner) => inner switch
    {
        HfBpeTokenizer hf => hf.SpecialTokens,
        BpeTokenizer bpe => bpe.SpecialTokens,
        SentencePieceTokenizer sp => sp.SpecialTokens,
        CodeGenTokenizer codeGen => codeGen.SpecialTokens,
        TiktokenTokenizer tiktoken => tiktoken.SpecialTokens,
        _ => null,
    };
}
