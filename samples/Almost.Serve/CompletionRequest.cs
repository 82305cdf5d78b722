using Almost.Data;
using System.Text.Json;
using Almost.Generation;
using Almost.Tokenization;

namespace Almost.Serve;

/// <summary>A request the server refuses, with the HTTP status and the OpenAI error fields.</summary>
internal sealed class OpenAiRequestException(int status, string message, string? param = null, string? code = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? Code { get; } = code;
}

/// <summary>
/// A validated <c>/v1/completions</c> or <c>/v1/chat/completions</c> request: the prompts (a chat is rendered into one
/// prompt by the chat template) and the sampling settings for <see cref="LocalGenerator"/>.
/// </summary>
/// <param name="Prompts">The text prompts; empty when the prompts came as token ids.</param>
/// <param name="Options">The sampling settings.</param>
/// <param name="Stream">Whether to answer as server-sent events.</param>
/// <param name="StopStrings">The request's own stop strings (reported back in <c>stop_reason</c>).</param>
/// <param name="TokenPrompts">Prompts given as token-id arrays (as vLLM accepts), used as they are (no BOS added); null for text.</param>
/// <param name="IncludeUsage">A stream ends with a <c>usage</c> chunk (<c>stream_options.include_usage</c>).</param>
internal sealed record CompletionRequest(
    IReadOnlyList<string> Prompts,
    GenerationOptions Options,
    bool Stream,
    IReadOnlyList<string> StopStrings,
    IReadOnlyList<int[]>? TokenPrompts = null,
    bool IncludeUsage = false)
{
    private const int CompletionsDefaultMaxTokens = 16;   // OpenAI's and vLLM's default for /v1/completions

    /// <summary>Reads and checks a request body; throws <see cref="OpenAiRequestException"/> naming the bad field.</summary>
    public static CompletionRequest Parse(JsonElement root, bool chat, string modelName, ServeOptions limits)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new OpenAiRequestException(400, "The request body must be a JSON object.");
        }

        if (root.TryGetProperty("model", out var model) && model.ValueKind != JsonValueKind.Null)
        {
            if (model.ValueKind != JsonValueKind.String)
            {
                throw Invalid("model", "must be a string");
            }

            if (model.GetString() != modelName)
            {
                throw new OpenAiRequestException(
                    404, $"The model '{model.GetString()}' does not exist. This server serves '{modelName}'.", "model", "model_not_found");
            }
        }

        var stops = ReadStops(root);
        var (prompts, tokenPrompts) = chat ? ([RenderChat(root, limits.ChatTemplate)], null) : ReadPrompts(root, limits.MaxPrompts);
        if (Flag(root, "echo"))
        {
            throw Invalid("echo", "is not supported by this server");
        }

        var maxTokensField = chat && root.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens";
        var maxTokens = Int(root, maxTokensField) ?? (chat ? limits.MaxTokensLimit : CompletionsDefaultMaxTokens);
        if (maxTokens < 1)
        {
            throw Invalid(maxTokensField, $"must be at least 1, got {maxTokens}");
        }

        if (maxTokens > limits.MaxTokensLimit)
        {
            throw new OpenAiRequestException(
                400, $"{maxTokensField} is {maxTokens}, above this server's limit of {limits.MaxTokensLimit}.", maxTokensField);
        }

        var temperature = Number(root, "temperature") ?? 1.0;
        if (temperature is < 0 or > 2)
        {
            throw Invalid("temperature", $"must be between 0 and 2, got {temperature}");
        }

        var topP = Number(root, "top_p") ?? 1.0;
        if (topP is <= 0 or > 1)
        {
            throw Invalid("top_p", $"must be in (0, 1], got {topP}");
        }

        var topK = Int(root, "top_k") ?? 0;
        if (topK < -1)
        {
            throw Invalid("top_k", $"must be -1 or 0 (off) or positive, got {topK}");
        }

        var n = Int(root, "n") ?? 1;
        if (n < 1 || n > limits.MaxSamples)
        {
            throw Invalid("n", $"must be between 1 and {limits.MaxSamples}, got {n}");
        }

        var seed = root.TryGetProperty("seed", out var s) && s.ValueKind != JsonValueKind.Null
            ? s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var sv) ? sv : throw Invalid("seed", "must be an integer")
            : Random.Shared.NextInt64();

        var stream = Flag(root, "stream");
        return new CompletionRequest(
            prompts,
            new GenerationOptions
            {
                MaxNewTokens = maxTokens,
                Temperature = temperature,
                TopP = topP,
                TopK = Math.Max(topK, 0),
                Seed = seed,
                SamplesPerPrompt = n,
                StopStrings = chat ? [.. stops, .. limits.ChatTemplate.StopStrings] : stops,
                ReturnLogProbs = chat ? Flag(root, "logprobs") && CheckTopLogProbs(root) : ReadCompletionLogProbs(root),
            },
            stream,
            stops,
            tokenPrompts,
            ReadIncludeUsage(root, stream));
    }

    /// <summary>
    /// <c>prompt</c>: a string, an array of strings, an array of token ids, or an array of token-id arrays (the four
    /// forms of the OpenAI and vLLM APIs). Token ids are checked against the vocabulary by the server.
    /// </summary>
    private static (string[] Texts, int[][]? TokenIds) ReadPrompts(JsonElement root, int maxPrompts)
    {
        if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw new OpenAiRequestException(400, "'prompt' is a required property.", "prompt");
        }

        if (prompt.ValueKind == JsonValueKind.String)
        {
            return ([prompt.GetString()!], null);
        }

        const string Expected = "must be a string, an array of strings, an array of token ids or an array of token-id arrays";
        if (prompt.ValueKind != JsonValueKind.Array || prompt.GetArrayLength() == 0)
        {
            throw Invalid("prompt", Expected);
        }

        var items = prompt.EnumerateArray().ToList();
        if (items.All(p => p.ValueKind == JsonValueKind.Number))
        {
            return ([], [TokenIds(prompt)]);
        }

        var count = items.Count;
        if (count > maxPrompts)
        {
            throw Invalid("prompt", $"holds {count} prompts; this server takes at most {maxPrompts}");
        }

        if (items.All(p => p.ValueKind == JsonValueKind.String))
        {
            return ([.. items.Select(p => p.GetString()!)], null);
        }

        if (items.All(p => p.ValueKind == JsonValueKind.Array && p.GetArrayLength() > 0))
        {
            return ([], [.. items.Select(TokenIds)]);
        }

        throw Invalid("prompt", Expected);
    }

    private static int[] TokenIds(JsonElement array) =>
        [.. array.EnumerateArray().Select(id => id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var v) && v >= 0
            ? v
            : throw Invalid("prompt", $"token ids must be non-negative integers, got {id.GetRawText()}"))];

    private static string RenderChat(JsonElement root, IChatTemplate template)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw new OpenAiRequestException(400, "'messages' is a required property.", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw Invalid("messages", "must be a non-empty array");
        }

        var turns = new List<ChatMessage>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object ||
                !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String ||
                !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"messages[{i}]", "must be an object with string 'role' and string 'content'");
            }

            turns.Add(new ChatMessage(role.GetString()!, content.GetString()!));
            i++;
        }

        try
        {
            return template.Format(turns, addGenerationPrompt: true);
        }
        catch (ArgumentException e)
        {
            throw new OpenAiRequestException(400, e.Message, "messages");
        }
    }

    private static string[] ReadStops(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString() is { Length: > 0 } one ? [one] : [];
        }

        if (stop.ValueKind != JsonValueKind.Array || stop.GetArrayLength() > 16 ||
            stop.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
        {
            throw Invalid("stop", "must be a string or an array of at most 16 strings");
        }

        return [.. stop.EnumerateArray().Select(x => x.GetString()!).Where(x => x.Length > 0)];
    }

    /// <summary><c>stream_options</c>: null, or an object (only with <c>"stream": true</c>) whose <c>include_usage</c> is a boolean.</summary>
    private static bool ReadIncludeUsage(JsonElement root, bool stream)
    {
        if (!root.TryGetProperty("stream_options", out var options) || options.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        if (!stream)
        {
            throw Invalid("stream_options", "is only allowed when 'stream' is true");
        }

        if (options.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("stream_options", "must be an object");
        }

        if (!options.TryGetProperty("include_usage", out var include) || include.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        return include.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid("stream_options.include_usage", "must be a boolean"),
        };
    }

    /// <summary>Completions: <c>logprobs</c> is null or an integer 0..5; any integer returns the sampled tokens' log-probs.</summary>
    private static bool ReadCompletionLogProbs(JsonElement root)
    {
        var logprobs = Int(root, "logprobs");
        if (logprobs is < 0 or > 5)
        {
            throw Invalid("logprobs", $"must be between 0 and 5, got {logprobs}");
        }

        return logprobs is not null;
    }

    private static bool CheckTopLogProbs(JsonElement root)
    {
        var top = Int(root, "top_logprobs") ?? 0;
        if (top is < 0 or > 20)
        {
            throw Invalid("top_logprobs", $"must be between 0 and 20, got {top}");
        }

        return true;
    }

    private static bool Flag(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(name, "must be a boolean"),
        };
    }

    private static int? Int(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var v) ? v : throw Invalid(name, "must be an integer");
    }

    private static double? Number(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Invalid(name, "must be a number");
    }

    private static OpenAiRequestException Invalid(string param, string what) => new(400, $"'{param}' {what}.", param);
}
