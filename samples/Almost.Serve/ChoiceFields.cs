using System.Text;
using System.Text.Json.Nodes;
using Almost.Generation;
using Almost.Tokenization;

namespace Almost.Serve;

/// <summary>
/// The fields of an OpenAI choice that the JSON body and the stream both write: <c>finish_reason</c>,
/// <c>stop_reason</c> and <c>logprobs</c>.
/// </summary>
internal static class ChoiceFields
{
    /// <summary><c>"length"</c> at the token limit, else <c>"stop"</c> (EOS and a stop string alike, as OpenAI reports them).</summary>
    public static string FinishReason(FinishReason reason) => reason == Generation.FinishReason.Length ? "length" : "stop";

    /// <summary>
    /// The stop string that ended a sample (null unless it finished at one): the one the kept tokens' text continues
    /// with after the returned text.
    /// </summary>
    public static string? StopReason(AlmostTokenizer tokenizer, GenerationResult result, IReadOnlyList<string> stops)
    {
        if (result.FinishReason != Generation.FinishReason.Stop)
        {
            return null;
        }

        var tail = tokenizer.Decode(result.TokenIds);
        tail = tail.StartsWith(result.Text, StringComparison.Ordinal) ? tail[result.Text.Length..] : tail;
        return stops.FirstOrDefault(s => tail.StartsWith(s, StringComparison.Ordinal))
               ?? stops.FirstOrDefault(s => tail.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>logprobs</c> of some sampled tokens: chat's <c>{content: [{token, logprob, bytes, top_logprobs}]}</c> or the
    /// completions' <c>{tokens, token_logprobs, top_logprobs, text_offset}</c>, whose offsets start at
    /// <paramref name="textOffset"/> (a stream continues them from chunk to chunk). Also returns the offset after the
    /// last token.
    /// </summary>
    public static (JsonObject LogProbs, int NextOffset) LogProbs(
        AlmostTokenizer tokenizer, IReadOnlyList<int> tokenIds, IReadOnlyList<float> logProbs, bool chat, int textOffset = 0)
    {
        var tokens = tokenIds.Select(id => tokenizer.Decode([id])).ToList();
        var end = textOffset + tokens.Sum(t => t.Length);
        if (chat)
        {
            var content = new JsonArray();
            for (var t = 0; t < tokens.Count; t++)
            {
                content.Add(new JsonObject
                {
                    ["token"] = tokens[t],
                    ["logprob"] = logProbs[t],
                    ["bytes"] = new JsonArray([.. Encoding.UTF8.GetBytes(tokens[t]).Select(b => (JsonNode)(int)b)]),
                    ["top_logprobs"] = new JsonArray(),
                });
            }

            return (new JsonObject { ["content"] = content, ["refusal"] = null }, end);
        }

        var offsets = new JsonArray();
        var offset = textOffset;
        foreach (var token in tokens)
        {
            offsets.Add(offset);
            offset += token.Length;
        }

        var body = new JsonObject
        {
            ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]),
            ["token_logprobs"] = new JsonArray([.. logProbs.Select(v => (JsonNode)v)]),
            ["top_logprobs"] = null,
            ["text_offset"] = offsets,
        };
        return (body, end);
    }
}
