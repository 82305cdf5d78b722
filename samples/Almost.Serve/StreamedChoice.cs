using System.Text;
using System.Text.Json.Nodes;
using Almost.Generation;
using Almost.Tokenization;

namespace Almost.Serve;

/// <summary>
/// One choice of a streamed response: turns its <see cref="GenerationDelta"/>s into the <c>choices[]</c> entries of
/// OpenAI stream chunks, and keeps what it has sent (for <c>stop_reason</c>, the log-prob offsets and usage).
/// </summary>
/// <param name="index">The choice's index: prompt × <c>n</c> + sample.</param>
/// <param name="chat">Chat chunks (<c>delta.content</c>) rather than completion chunks (<c>text</c>).</param>
/// <param name="tokenizer">Decodes tokens for <c>logprobs</c> and <c>stop_reason</c>.</param>
/// <param name="options">The request's sampling settings (log-probs on or off, the stop strings).</param>
internal sealed class StreamedChoice(int index, bool chat, AlmostTokenizer tokenizer, GenerationOptions options)
{
    private readonly StringBuilder _text = new();
    private readonly List<int> _tokens = [];
    private readonly List<int> _unsentTokens = [];
    private readonly List<float> _unsentLogProbs = [];
    private int _textOffset;

    /// <summary>Tokens generated so far (for <c>usage.completion_tokens</c>).</summary>
    public int CompletionTokens => _tokens.Count;

    /// <summary>The first chat chunk's entry, sent before any text: <c>delta: {role: "assistant", content: ""}</c>.</summary>
    public JsonObject RoleEntry() => new()
    {
        ["index"] = index,
        ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Empty },
        ["logprobs"] = null,
        ["finish_reason"] = null,
    };

    /// <summary>
    /// The chunk entry for a delta, or null when it brings no text and does not finish the choice: then its tokens
    /// (and log-probs) wait for the entry that carries their text.
    /// </summary>
    public JsonObject? Add(GenerationDelta delta)
    {
        _text.Append(delta.Text);
        _tokens.AddRange(delta.TokenIds);
        _unsentTokens.AddRange(delta.TokenIds);
        if (delta.LogProbs is { } values)
        {
            _unsentLogProbs.AddRange(values);
        }

        if (delta.Text.Length == 0 && delta.FinishReason is null)
        {
            return null;
        }

        var entry = new JsonObject { ["index"] = index };
        if (chat)
        {
            entry["delta"] = delta.Text.Length > 0 ? new JsonObject { ["content"] = delta.Text } : new JsonObject();
        }
        else
        {
            entry["text"] = delta.Text;
        }

        JsonObject? logProbs = null;
        if (options.ReturnLogProbs && _unsentTokens.Count > 0)
        {
            (logProbs, _textOffset) = ChoiceFields.LogProbs(tokenizer, _unsentTokens, _unsentLogProbs, chat, _textOffset);
        }

        _unsentTokens.Clear();
        _unsentLogProbs.Clear();
        entry["logprobs"] = logProbs;
        entry["finish_reason"] = delta.FinishReason is { } reason ? ChoiceFields.FinishReason(reason) : null;
        if (delta.FinishReason is { } finish)
        {
            var result = new GenerationResult(_text.ToString(), _tokens, null, finish);
            entry["stop_reason"] = ChoiceFields.StopReason(tokenizer, result, options.StopStrings);
        }

        return entry;
    }
}
