using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;

namespace Almost.Serve;

/// <summary>
/// An OpenAI-compatible server over one checkpoint folder: <c>GET /v1/models</c>, <c>POST /v1/completions</c> and
/// <c>POST /v1/chat/completions</c>, plain JSON or server-sent events (<c>"stream": true</c>).
/// </summary>
/// <remarks>
/// <para>
/// One model answers every request, so generation is serialised: a request waits for the one before it (a
/// <see cref="SemaphoreSlim"/> of 1) and then runs all its prompts × <c>n</c> samples as one <see cref="LocalGenerator"/>
/// call, which batches them.
/// </para>
/// <para>
/// Streaming is token by token: with <c>"stream": true</c> the request runs through
/// <see cref="LocalGenerator.GenerateStreamingAsync(IReadOnlyList{int[]}, GenerationOptions, IProgress{GenerationProgress}?, CancellationToken)"/>
/// and every decoding step's new text goes out at once as one OpenAI chunk per choice (flushed), the last one of a
/// choice with <c>finish_reason</c> (and <c>stop_reason</c>); then <c>data: [DONE]</c>. Chat streams open with a
/// <c>{"role":"assistant","content":""}</c> delta per choice. Text that could still change (half a UTF-8 character,
/// a tail that may become a stop string) waits for the step that settles it, so the chunks of a choice concatenate
/// to exactly the non-streamed text. <c>logprobs</c> ride on the chunk that carries their tokens' text;
/// <c>stream_options.include_usage</c> adds a last chunk with <c>usage</c> and no choices. Choices of one request are
/// decoded in batches one after another, so a choice of a later batch starts when the earlier batches end. When the
/// client disconnects, <see cref="HttpContext.RequestAborted"/> stops the decoding at the next step.
/// </para>
/// <para>
/// Chat messages are rendered with <see cref="ServeOptions.ChatTemplate"/> plus its generation prompt. The template's
/// stop strings are added to the request's, and the reply is returned exactly as generated. With the transcript
/// template it usually starts with a space. Log-probs are those of the sampled tokens only: <c>top_logprobs</c> is
/// empty. <c>finish_reason</c> is <c>"stop"</c> for EOS and for a stop string. As in vLLM, <c>stop_reason</c>
/// names the matched stop string, or is null at EOS.
/// </para>
/// </remarks>
public static class ServeApp
{
    /// <summary>
    /// Loads the checkpoint and tokenizer from <see cref="ServeOptions.ModelFolder"/> and builds the web application
    /// (not started). Start it with <c>RunAsync</c>, or with <c>StartAsync</c> and read the bound address from
    /// <c>Urls</c> (useful with port 0). The model is disposed when the application stops.
    /// </summary>
    /// <param name="options">What to serve and where.</param>
    /// <returns>The application.</returns>
    public static WebApplication Build(ServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(ServeApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);

        var folder = Path.GetFullPath(options.ModelFolder);
        var tokenizer = AlmostTokenizer.FromFolder(folder);
        var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = options.Device });
        var app = builder.Build();
        var served = new ServedModel(
            options.ModelName ?? new DirectoryInfo(folder).Name,
            model,
            tokenizer,
            new LocalGenerator(model, tokenizer, options.Generator, app.Services.GetRequiredService<ILogger<LocalGenerator>>()),
            options,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServeApp).FullName!));
        app.Lifetime.ApplicationStopped.Register(model.Dispose);
        served.Logger.LogInformation(
            "Serving {Model} from {Folder} (max {MaxPositions} positions, chat template {Template})",
            served.Name, folder, model.Config.MaxPositionEmbeddings, options.ChatTemplate.GetType().Name);

        app.MapGet("/v1/models", () => Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject
            {
                ["id"] = served.Name,
                ["object"] = "model",
                ["created"] = served.Created,
                ["owned_by"] = "almost",
                ["max_model_len"] = model.Config.MaxPositionEmbeddings,
            }),
        }));
        if (options.ApiKey is { Length: > 0 } apiKey)
        {
            app.Use(RequireApiKey(apiKey));
        }

        app.MapPost("/v1/completions", (HttpContext context) => HandleAsync(context, served, chat: false));
        app.MapPost("/v1/chat/completions", (HttpContext context) => HandleAsync(context, served, chat: true));
        return app;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Middleware refusing requests without <c>Authorization: Bearer {key}</c> (401, OpenAI's <c>invalid_api_key</c>).
    /// The hashes of the two keys are compared in constant time, so the comparison leaks neither content nor length;
    /// neither key is ever logged.
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireApiKey(string apiKey)
    {
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
        return async (context, next) =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : "";
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
            {
                await WriteErrorAsync(context, 401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                    "invalid_request_error", null, "invalid_api_key");
                return;
            }

            await next(context);
        };
    }

    private static async Task HandleAsync(HttpContext context, ServedModel served, bool chat)
    {
        try
        {
            var request = await ReadRequestAsync(context, served, chat);
            var promptIds = PromptIds(served, request);
            var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (request.Stream)
            {
                await StreamAsync(context, served, request, promptIds, id, created, chat);
                return;
            }

            var results = await GenerateAsync(served, promptIds, request.Options, context.RequestAborted);
            var completionTokens = results.Sum(r => r.Sum(s => s.TokenIds.Count));
            served.Logger.LogInformation(
                "{Endpoint}: {Prompts} prompts x {Samples} samples, {Tokens} new tokens",
                chat ? "chat" : "completions", promptIds.Count, request.Options.SamplesPerPrompt, completionTokens);
            var body = new JsonObject
            {
                ["id"] = id,
                ["object"] = chat ? "chat.completion" : "text_completion",
                ["created"] = created,
                ["model"] = served.Name,
                ["choices"] = new JsonArray([.. BuildChoices(served, request, results, chat)]),
                ["usage"] = Usage(promptIds.Sum(p => p.Length), completionTokens),
            };
            await Json(body).ExecuteAsync(context);
        }
        catch (OpenAiRequestException e)
        {
            served.Logger.LogInformation("Refused a request: {Status} {Message}", e.Status, e.Message);
            await WriteErrorAsync(context, e.Status, e.Message, "invalid_request_error", e.Param, e.Code);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            served.Logger.LogError(e, "Generation failed");
            await WriteErrorAsync(context, 500, "The server failed to generate: " + e.Message, "server_error", null, null);
        }
    }

    private static async Task<CompletionRequest> ReadRequestAsync(HttpContext context, ServedModel served, bool chat)
    {
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new OpenAiRequestException(
                413, $"The request body is larger than this server's limit of {served.Options.MaxRequestBodyBytes} bytes.",
                null, "request_too_large");
        }

        // System.Text.Json checks UTF-8 only where it transcodes a string, and then throws InvalidOperationException (a
        // 500); a body that is not UTF-8 is the client's error.
        try
        {
            _ = StrictUtf8.GetCharCount(body);
        }
        catch (DecoderFallbackException e)
        {
            throw new OpenAiRequestException(400, $"The request body is not valid UTF-8 (bad byte at offset {e.Index}).");
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            return CompletionRequest.Parse(doc.RootElement, chat, served.Name, served.Options);
        }
        catch (JsonException e)
        {
            throw new OpenAiRequestException(400, $"We could not parse the JSON body of your request: {e.Message}");
        }
    }

    /// <summary>The prompts as token ids: text encoded as <see cref="LocalGenerator"/> would, token arrays checked against the vocabulary.</summary>
    private static List<int[]> PromptIds(ServedModel served, CompletionRequest request)
    {
        if (request.TokenPrompts is not { } tokens)
        {
            return [.. request.Prompts.Select(p => served.Tokenizer.Encode(p, served.AddBos))];
        }

        var vocab = served.Model.Config.VocabSize;
        foreach (var id in tokens.SelectMany(t => t).Where(id => id >= vocab).Take(1))
        {
            throw new OpenAiRequestException(400, $"Token id {id} in 'prompt' is outside the vocabulary (0..{vocab - 1}).", "prompt");
        }

        return [.. tokens];
    }

    private static async Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        ServedModel served, IReadOnlyList<int[]> promptIds, GenerationOptions options, CancellationToken ct)
    {
        await served.Gate.WaitAsync(ct);
        try
        {
            return await Task.Run(() => served.Generator.Generate(promptIds, options, null, ct), ct);
        }
        catch (ArgumentException e)
        {
            // LocalGenerator refuses prompts that are empty or too long for the context window.
            throw new OpenAiRequestException(400, e.Message, null);
        }
        finally
        {
            served.Gate.Release();
        }
    }

    /// <summary>
    /// Streams one request: the generator's deltas go out as OpenAI chunks as each decoding step produces them, each
    /// event flushed; the client going away (<see cref="HttpContext.RequestAborted"/>) stops the decoding.
    /// </summary>
    private static async Task StreamAsync(
        HttpContext context, ServedModel served, CompletionRequest request, List<int[]> promptIds, string id, long created, bool chat)
    {
        var ct = context.RequestAborted;
        var endpoint = chat ? "chat" : "completions";
        var n = request.Options.SamplesPerPrompt;
        var choices = Enumerable.Range(0, promptIds.Count * n)
            .Select(i => new StreamedChoice(i, chat, served.Tokenizer, request.Options))
            .ToArray();
        JsonObject Chunk(JsonArray entries) => new()
        {
            ["id"] = id,
            ["object"] = chat ? "chat.completion.chunk" : "text_completion",
            ["created"] = created,
            ["model"] = served.Name,
            ["choices"] = entries,
        };

        await served.Gate.WaitAsync(ct);
        try
        {
            IAsyncEnumerable<GenerationDelta> deltas;
            try
            {
                deltas = served.Generator.GenerateStreamingAsync(promptIds, request.Options, null, ct);
            }
            catch (ArgumentException e)
            {
                // LocalGenerator refuses prompts that are empty or too long for the context window, before decoding.
                throw new OpenAiRequestException(400, e.Message, null);
            }

            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            try
            {
                // The headers (and, for chat, each choice's role) go out before the first token is decoded.
                await context.Response.StartAsync(ct);
                if (chat)
                {
                    foreach (var choice in choices)
                    {
                        await WriteEventAsync(context, Chunk(new JsonArray(choice.RoleEntry())).ToJsonString(), ct);
                    }
                }

                await foreach (var delta in deltas)
                {
                    if (choices[delta.PromptIndex * n + delta.SampleIndex].Add(delta) is { } entry)
                    {
                        await WriteEventAsync(context, Chunk(new JsonArray(entry)).ToJsonString(), ct);
                    }
                }

                var completionTokens = choices.Sum(c => c.CompletionTokens);
                if (request.IncludeUsage)
                {
                    var usage = Chunk([]);
                    usage["usage"] = Usage(promptIds.Sum(p => p.Length), completionTokens);
                    await WriteEventAsync(context, usage.ToJsonString(), ct);
                }

                await WriteEventAsync(context, "[DONE]", ct);
                served.Logger.LogInformation(
                    "{Endpoint}: {Prompts} prompts x {Samples} samples, {Tokens} new tokens (streamed)",
                    endpoint, promptIds.Count, n, completionTokens);
            }
            catch (Exception e) when (ct.IsCancellationRequested && e is OperationCanceledException or IOException)
            {
                served.Logger.LogInformation(
                    "{Endpoint}: the client went away after {Tokens} streamed tokens; generation stopped",
                    endpoint, choices.Sum(c => c.CompletionTokens));
            }
        }
        finally
        {
            served.Gate.Release();
        }
    }

    private static async Task WriteEventAsync(HttpContext context, string data, CancellationToken ct)
    {
        await context.Response.WriteAsync($"data: {data}\n\n", ct);
        await context.Response.Body.FlushAsync(ct);
    }

    private static JsonObject Usage(int promptTokens, int completionTokens) => new()
    {
        ["prompt_tokens"] = promptTokens,
        ["completion_tokens"] = completionTokens,
        ["total_tokens"] = promptTokens + completionTokens,
    };

    private static List<JsonObject> BuildChoices(
        ServedModel served, CompletionRequest request, IReadOnlyList<IReadOnlyList<GenerationResult>> results, bool chat)
    {
        var choices = new List<JsonObject>();
        var n = request.Options.SamplesPerPrompt;
        for (var p = 0; p < results.Count; p++)
        {
            for (var s = 0; s < n; s++)
            {
                var result = results[p][s];
                var index = p * n + s;
                var logProbs = request.Options.ReturnLogProbs && result.LogProbs is not null
                    ? ChoiceFields.LogProbs(served.Tokenizer, result.TokenIds, result.LogProbs, chat).LogProbs
                    : null;
                var full = new JsonObject { ["index"] = index };
                if (chat)
                {
                    full["message"] = new JsonObject { ["role"] = "assistant", ["content"] = result.Text };
                }
                else
                {
                    full["text"] = result.Text;
                }

                full["logprobs"] = logProbs;
                full["finish_reason"] = ChoiceFields.FinishReason(result.FinishReason);
                full["stop_reason"] = ChoiceFields.StopReason(served.Tokenizer, result, request.Options.StopStrings);
                choices.Add(full);
            }
        }

        return choices;
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message, string type, string? param, string? code)
    {
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = type,
                ["param"] = param,
                ["code"] = code,
            },
        };
        return Json(error, status).ExecuteAsync(context);
    }

    private static IResult Json(JsonNode body, int status = StatusCodes.Status200OK) =>
        Results.Content(body.ToJsonString(), "application/json", System.Text.Encoding.UTF8, status);
}
