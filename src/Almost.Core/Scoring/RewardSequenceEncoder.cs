using Almost.Models.Llama;
using Almost.Tokenization;

namespace Almost.Scoring;

/// <summary>
/// Turns a (prompt, response) pair into the token ids a reward model scores. One convention, used by
/// <see cref="RewardModel"/> (scoring, filtering, PPO) and by the reward-model trainer, so the same text is scored at
/// the same token everywhere:
/// <list type="number">
/// <item><c>[BOS]</c> when <see cref="AddsBos"/> (the tokenizer has a BOS token and the option asks for it);</item>
/// <item>the tokens of <c>prompt + response</c> (one string: no separator, and tokenization may merge across the
/// boundary exactly as it does when the text is generated), with trailing pad ids dropped;</item>
/// <item><c>[EOS]</c> when the tokenizer has an EOS token <b>different from the pad id</b> and the text does not
/// already end with it.</item>
/// </list>
/// The score is read at the last of these tokens. Why EOS only when it differs from PAD: transformers'
/// <c>*ForSequenceClassification</c> pools at the last token that is not <c>pad_token_id</c>, so with PAD = EOS (TinyWorld,
/// LLaMA-2 without a pad token) an appended EOS would be skipped by transformers and the two would score different
/// tokens; then the last token of the response is the scored one. Trailing pad ids are dropped for the same reason.
/// </summary>
/// <remarks>
/// Sequences longer than <see cref="MaxLength"/> lose tokens from the left, after BOS: the prompt is cut first and
/// the end of the response is never cut (only a response longer than the whole budget loses its beginning).
/// </remarks>
public sealed class RewardSequenceEncoder
{
    private readonly AlmostTokenizer _tokenizer;

    /// <summary>Creates the encoder.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="padTokenId">The pad id of the model (its saved <c>pad_token_id</c>).</param>
    /// <param name="maxLength">The longest sequence, special tokens included; at least 3.</param>
    /// <param name="addBos">Prepend the tokenizer's BOS token when it has one (LLaMA models expect it).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 3 or <paramref name="padTokenId"/> is negative.</exception>
    public RewardSequenceEncoder(AlmostTokenizer tokenizer, int padTokenId, int maxLength, bool addBos = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        ArgumentOutOfRangeException.ThrowIfNegative(padTokenId);
        _tokenizer = tokenizer;
        PadTokenId = padTokenId;
        MaxLength = maxLength;
        BosTokenId = addBos ? tokenizer.BosTokenId : null;
        EosTokenId = tokenizer.EosTokenId is { } eos && eos != padTokenId ? eos : null;
    }

    /// <summary>
    /// The encoder for <paramref name="model"/>: its <see cref="LlamaForSequenceClassification.PadTokenId"/>, and at
    /// most <paramref name="maxLength"/> tokens (null: the model's <c>max_position_embeddings</c>).
    /// </summary>
    /// <param name="model">The reward model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="maxLength">The longest sequence; null for the model's limit.</param>
    /// <param name="addBos">Prepend BOS when the tokenizer has one.</param>
    /// <returns>The encoder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> exceeds the model's <c>max_position_embeddings</c>.</exception>
    public static RewardSequenceEncoder For(LlamaForSequenceClassification model, AlmostTokenizer tokenizer, int? maxLength = null, bool addBos = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var limit = model.Config.MaxPositionEmbeddings;
        if (maxLength > limit)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"Expected at most the model's max_position_embeddings ({limit}).");
        }

        return new RewardSequenceEncoder(tokenizer, model.PadTokenId, maxLength ?? limit, addBos);
    }

    /// <summary>The pad id; never the last token of an encoded sequence.</summary>
    public int PadTokenId { get; }

    /// <summary>The longest sequence, special tokens included.</summary>
    public int MaxLength { get; }

    /// <summary>The BOS id prepended to every sequence, or null when none is.</summary>
    public int? BosTokenId { get; }

    /// <summary>The EOS id appended to every sequence (the scored token), or null when none is (no EOS, or EOS = PAD).</summary>
    public int? EosTokenId { get; }

    /// <summary>Whether a BOS token is prepended.</summary>
    public bool AddsBos => BosTokenId is not null;

    /// <summary>Whether an EOS token is appended (and scored).</summary>
    public bool AppendsEos => EosTokenId is not null;

    /// <summary>Encodes one pair; see the class remarks for the convention.</summary>
    /// <param name="prompt">The context.</param>
    /// <param name="response">The response.</param>
    /// <returns>The token ids, at most <see cref="MaxLength"/>.</returns>
    /// <exception cref="ArgumentException"><c>prompt + response</c> has no token left after dropping trailing pad ids.</exception>
    public int[] Encode(string prompt, string response) => Encode(prompt, response, out _);

    /// <summary>Encodes one pair and says how many tokens the left truncation dropped.</summary>
    /// <param name="prompt">The context.</param>
    /// <param name="response">The response.</param>
    /// <param name="truncatedTokens">Tokens cut from the left (0 when the pair fits).</param>
    /// <returns>The token ids, at most <see cref="MaxLength"/>.</returns>
    /// <exception cref="ArgumentException"><c>prompt + response</c> has no token left after dropping trailing pad ids.</exception>
    public int[] Encode(string prompt, string response, out int truncatedTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(response);
        var body = _tokenizer.Encode(prompt + response);
        var end = body.Length;
        while (end > 0 && body[end - 1] == PadTokenId)
        {
            end--;
        }

        if (end == 0)
        {
            throw new ArgumentException(
                $"prompt + response encodes to no token that is not padding (\"{Preview(prompt + response)}\"); a reward model needs at least one.");
        }

        var eos = EosTokenId is { } id && body[end - 1] != id ? 1 : 0;
        var bos = AddsBos ? 1 : 0;
        var budget = MaxLength - bos - eos;
        var start = Math.Max(0, end - budget);
        truncatedTokens = start;
        var ids = new int[bos + (end - start) + eos];
        if (bos == 1)
        {
            ids[0] = BosTokenId!.Value;
        }

        Array.Copy(body, start, ids, bos, end - start);
        if (eos == 1)
        {
            ids[^1] = EosTokenId!.Value;
        }

        return ids;
    }

    private static string Preview(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
