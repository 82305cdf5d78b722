using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Almost.Generation.OpenAi;

/// <summary>
/// Generates through an OpenAI-compatible HTTP server (vLLM, llama.cpp server, TGI, Ollama, <c>Almost.Serve</c>) with
/// <c>POST /v1/completions</c> (raw prompts, for vanilla models) or <c>POST /v1/chat/completions</c> (the prompt as one
/// user message). One request per prompt asks for all <see cref="GenerationOptions.SamplesPerPrompt"/> samples with
/// <c>n</c>; at most <see cref="OpenAiCompatibleOptions.MaxConcurrency"/> requests are in flight.
/// </summary>
/// <remarks>
/// <para>
/// <b>Reliability.</b> Each attempt (send + read the whole body) is limited to <see cref="OpenAiCompatibleOptions.Timeout"/>;
/// 408, 429 and 5xx responses, dropped or reset connections (<see cref="HttpRequestException"/>,
/// <see cref="IOException"/>) and timed-out attempts are retried up to <see cref="OpenAiCompatibleOptions.MaxRetries"/>
/// times with jittered exponential backoff (a <c>Retry-After</c> header, in seconds or as an HTTP date, replaces the
/// backoff). Retry and timeout are a Polly.Core <see cref="ResiliencePipeline{T}"/>. When the budget is spent, or the
/// server answers another 4xx, an <see cref="OpenAiCompatibleException"/> names the endpoint, the last status code
/// and the number of attempts. The API key is sent as a bearer token and never logged.
/// </para>
/// <para>
/// <b>Why HttpClient and System.Text.Json, not the OpenAI library.</b> The official OpenAI .NET library (2.15) has no
/// public client for <c>/v1/completions</c> (its <c>LegacyCompletionClient</c> is internal), and vanilla models need
/// that endpoint. Its <c>ChatCompletionOptions</c> has no <c>n</c> (samples per prompt) and no <c>top_k</c>, and
/// Microsoft.Extensions.AI's <c>ChatOptions</c> has neither <c>n</c> nor log-probabilities. Both libraries also
/// bring their own retry policy. Writing both endpoints by hand takes little code and gives them the same request
/// fields, retries and log-prob parsing.
/// </para>
/// <para>
/// <b>Finish reasons.</b> Servers say <c>"stop"</c> both for the end-of-sequence token and for a stop string. A sample
/// is <see cref="FinishReason.Stop"/> only when <see cref="GenerationOptions.StopStrings"/> is not empty and the
/// server names the matched stop string in <c>stop_reason</c> (vLLM, Almost.Serve). Otherwise it is
/// <see cref="FinishReason.Eos"/>. <c>"length"</c> is <see cref="FinishReason.Length"/>.
/// </para>
/// <para>
/// <b>Fields.</b> <c>max_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>n</c>, <c>seed</c> and <c>stop</c> are always
/// sent. <c>top_k</c> is not part of the OpenAI API, so it is sent only when it is above 0 (vLLM, llama.cpp and
/// Almost.Serve accept it). Log-probs are requested as <c>"logprobs": 1</c> (completions) or <c>"logprobs": true</c>
/// (chat). <see cref="GenerationResult.TokenIds"/> is always empty, because OpenAI responses carry no token ids. If a server
/// returns fewer than <c>n</c> choices (llama.cpp and Ollama ignore <c>n</c>), it is asked again for the rest with
/// the seed raised by one each round.
/// </para>
/// </remarks>
public sealed class OpenAiCompatibleGenerator : ITextGenerator, IDisposable
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    private readonly OpenAiCompatibleOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate;
    private readonly ResiliencePipeline<AttemptOutcome> _pipeline;
    private readonly string _logEndpoint;

    /// <summary>Creates a generator for the server and model in <paramref name="options"/> (or the environment).</summary>
    /// <param name="options">Server, model, key and retry settings; null = all from the environment and defaults.</param>
    /// <param name="httpClient">
    /// The client to send with (for tests or <c>IHttpClientFactory</c>); it is not disposed by this generator. Its own
    /// <see cref="HttpClient.Timeout"/> should be longer than <see cref="OpenAiCompatibleOptions.Timeout"/>. Null = a
    /// private client.
    /// </param>
    /// <param name="logger">Receives the endpoint, model, status codes and retries; never the key.</param>
    /// <exception cref="ArgumentException">No base URL or model is set, or the base URL is not an absolute http(s) URL.</exception>
    public OpenAiCompatibleGenerator(
        OpenAiCompatibleOptions? options = null,
        HttpClient? httpClient = null,
        ILogger<OpenAiCompatibleGenerator>? logger = null)
    {
        _options = (options ?? new OpenAiCompatibleOptions()).WithEnvironmentFallbacks();
        if (string.IsNullOrWhiteSpace(_options.BaseUrl))
        {
            throw new ArgumentException(
                $"No server URL: set OpenAiCompatibleOptions.BaseUrl or ${OpenAiCompatibleOptions.BaseUrlVariable} (e.g. http://127.0.0.1:8000/v1).",
                nameof(options));
        }

        if (string.IsNullOrWhiteSpace(_options.Model))
        {
            throw new ArgumentException(
                $"No model name: set OpenAiCompatibleOptions.Model or ${OpenAiCompatibleOptions.ModelVariable}.", nameof(options));
        }

        if (!Uri.TryCreate(_options.BaseUrl.TrimEnd('/') + "/", UriKind.Absolute, out var root) ||
            (root.Scheme != Uri.UriSchemeHttp && root.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"BaseUrl '{_options.BaseUrl}' is not an absolute http(s) URL.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrency, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxRetries, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.Timeout, TimeSpan.Zero, nameof(options));

        Endpoint = new Uri(root, _options.Mode == OpenAiApiMode.Chat ? "chat/completions" : "completions");
        _logEndpoint = Endpoint.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _gate = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        _pipeline = BuildPipeline();
    }

    /// <summary>The URL every request goes to (<c>{BaseUrl}/completions</c> or <c>{BaseUrl}/chat/completions</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>The model name sent with every request.</summary>
    public string Model => _options.Model!;

    /// <inheritdoc />
    /// <exception cref="OpenAiCompatibleException">A request failed after its retry budget, or was refused.</exception>
    public async Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxNewTokens, 1, nameof(options.MaxNewTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SamplesPerPrompt, 1, nameof(options.SamplesPerPrompt));
        _logger.LogInformation(
            "Generating {Prompts} prompts x {Samples} samples with model {Model} at {Endpoint}",
            prompts.Count, options.SamplesPerPrompt, _options.Model, _logEndpoint);

        var results = new IReadOnlyList<GenerationResult>[prompts.Count];
        var completed = 0;
        long tokens = 0;
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = prompts.Select(async (prompt, i) =>
        {
            await _gate.WaitAsync(failFast.Token).ConfigureAwait(false);
            try
            {
                var (samples, used) = await CompleteAsync(prompt, options, failFast.Token).ConfigureAwait(false);
                results[i] = samples;
                var done = Interlocked.Increment(ref completed);
                var total = Interlocked.Add(ref tokens, used);
                progress?.Report(new GenerationProgress(done, prompts.Count, total));
            }
            catch
            {
                // One failed prompt fails the call: stop the others instead of spending their retry budgets.
                await failFast.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                _gate.Release();
            }
        }).ToList();

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Cancelled by another prompt's failure: surface that failure, not the cancellation.
            var cause = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault();
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }

        return results;
    }

    /// <summary>Disposes the private HttpClient (an injected one is left alone) and the concurrency gate.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        _gate.Dispose();
    }

    /// <summary>Gets all samples of one prompt; asks again when the server returned fewer than <c>n</c> choices.</summary>
    private async Task<(IReadOnlyList<GenerationResult> Samples, long Tokens)> CompleteAsync(
        string prompt, GenerationOptions options, CancellationToken ct)
    {
        var samples = new List<GenerationResult>(options.SamplesPerPrompt);
        long tokens = 0;
        for (var round = 0; samples.Count < options.SamplesPerPrompt; round++)
        {
            var wanted = options.SamplesPerPrompt - samples.Count;
            var body = BuildRequest(prompt, options, wanted, options.Seed + round);
            var responseBody = await SendAsync(body, ct).ConfigureAwait(false);
            var (choices, used) = ParseResponse(responseBody, options, wanted);
            if (choices.Count == 0)
            {
                throw new OpenAiCompatibleException($"{_logEndpoint} returned no choices.", Endpoint, 200, 1);
            }

            if (choices.Count < wanted)
            {
                _logger.LogDebug("{Endpoint} returned {Choices} of {Wanted} choices; asking again", _logEndpoint, choices.Count, wanted);
            }

            samples.AddRange(choices);
            tokens += used;
        }

        return (samples, tokens);
    }

    /// <summary>Posts <paramref name="body"/> through the retry/timeout pipeline; returns the body of a 2xx response.</summary>
    private async Task<string> SendAsync(byte[] body, CancellationToken ct)
    {
        var attempts = 0;
        int? lastStatus = null;
        AttemptOutcome outcome;
        try
        {
            outcome = await _pipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    var result = await SendOnceAsync(body, token).ConfigureAwait(false);
                    lastStatus = result.Status;
                    return result;
                },
                ct).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransientException(e, ct))
        {
            var last = lastStatus is null ? "no response" : $"last status {lastStatus}";
            throw new OpenAiCompatibleException(
                $"{_logEndpoint} failed after {attempts} attempt(s) ({last}); last error: {e.GetType().Name}: {e.Message}",
                Endpoint, lastStatus, attempts, e);
        }

        if (outcome.Status is < 200 or > 299)
        {
            var verdict = IsTransientStatus(outcome.Status) ? "gave up" : "refused the request";
            throw new OpenAiCompatibleException(
                $"{_logEndpoint} {verdict} after {attempts} attempt(s): status {outcome.Status}: {ErrorMessage(outcome.Body)}",
                Endpoint, outcome.Status, attempts);
        }

        return outcome.Body;
    }

    private async Task<AttemptOutcome> SendOnceAsync(byte[] body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = s_json;
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return new AttemptOutcome((int)response.StatusCode, text, RetryAfter(response));
    }

    private ResiliencePipeline<AttemptOutcome> BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder<AttemptOutcome>();
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<AttemptOutcome>
            {
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e
                        ? IsTransientException(e, args.Context.CancellationToken)
                        : IsTransientStatus(args.Outcome.Result!.Status)),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result?.RetryAfter is { } after
                        ? (TimeSpan?)(after < _options.MaxRetryDelay ? after : _options.MaxRetryDelay)
                        : null),
                OnRetry = args =>
                {
                    var failure = args.Outcome.Exception is { } e
                        ? $"{e.GetType().Name}: {e.Message}"
                        : $"status {args.Outcome.Result!.Status}";
                    _logger.LogWarning(
                        "Attempt {Attempt} to {Endpoint} failed ({Failure}); retry {Retry} of {MaxRetries} in {DelayMs:F0} ms",
                        args.AttemptNumber + 1, _logEndpoint, failure, args.AttemptNumber + 1, _options.MaxRetries,
                        args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        return builder.AddTimeout(_options.Timeout).Build();
    }

    private static bool IsTransientStatus(int status) =>
        status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests or >= 500;

    /// <summary>Connection errors and timed-out attempts are transient; the caller's own cancellation is not.</summary>
    private static bool IsTransientException(Exception e, CancellationToken callerToken) => e switch
    {
        HttpRequestException or IOException or TimeoutRejectedException => true,
        TaskCanceledException { InnerException: TimeoutException } => !callerToken.IsCancellationRequested,  // HttpClient.Timeout
        _ => false,
    };

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private byte[] BuildRequest(string prompt, GenerationOptions options, int n, long seed)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("model", _options.Model);
            if (_options.Mode == OpenAiApiMode.Chat)
            {
                json.WriteStartArray("messages");
                json.WriteStartObject();
                json.WriteString("role", "user");
                json.WriteString("content", prompt);
                json.WriteEndObject();
                json.WriteEndArray();
            }
            else
            {
                json.WriteString("prompt", prompt);
            }

            json.WriteNumber("max_tokens", options.MaxNewTokens);
            json.WriteNumber("temperature", options.Temperature);
            json.WriteNumber("top_p", options.TopP);
            if (options.TopK > 0)
            {
                json.WriteNumber("top_k", options.TopK);
            }

            json.WriteNumber("n", n);
            json.WriteNumber("seed", seed);
            if (options.StopStrings.Count > 0)
            {
                json.WriteStartArray("stop");
                foreach (var stop in options.StopStrings)
                {
                    json.WriteStringValue(stop);
                }

                json.WriteEndArray();
            }

            if (options.ReturnLogProbs)
            {
                if (_options.Mode == OpenAiApiMode.Chat)
                {
                    json.WriteBoolean("logprobs", true);
                }
                else
                {
                    json.WriteNumber("logprobs", 1);
                }
            }

            json.WriteBoolean("stream", false);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Reads the choices (ordered by <c>index</c>) and <c>usage.completion_tokens</c> of a response.</summary>
    private (List<GenerationResult> Choices, long Tokens) ParseResponse(string body, GenerationOptions options, int wanted)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var choices = new List<(int Index, GenerationResult Result)>();
            var position = 0;
            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                var index = choice.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position;
                position++;
                var text = _options.Mode == OpenAiApiMode.Chat
                    ? choice.GetProperty("message").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                        ? content.GetString()!
                        : string.Empty
                    : choice.GetProperty("text").GetString() ?? string.Empty;
                var logProbs = options.ReturnLogProbs ? ReadLogProbs(choice) : null;
                choices.Add((index, new GenerationResult(text, [], logProbs, ReadFinishReason(choice, options))));
            }

            var tokens = root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object &&
                         usage.TryGetProperty("completion_tokens", out var ct) && ct.ValueKind == JsonValueKind.Number
                ? ct.GetInt64()
                : 0;
            return ([.. choices.OrderBy(c => c.Index).Take(wanted).Select(c => c.Result)], tokens);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new OpenAiCompatibleException(
                $"{_logEndpoint} answered 200 but the body is not an OpenAI {(_options.Mode == OpenAiApiMode.Chat ? "chat completion" : "completion")}: {e.Message}",
                Endpoint, 200, 1, e);
        }
    }

    private IReadOnlyList<float>? ReadLogProbs(JsonElement choice)
    {
        if (!choice.TryGetProperty("logprobs", out var lp) || lp.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var values = new List<float>();
        if (_options.Mode == OpenAiApiMode.Chat)
        {
            if (!lp.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var token in content.EnumerateArray())
            {
                values.Add(ReadFloat(token.GetProperty("logprob")));
            }
        }
        else
        {
            if (!lp.TryGetProperty("token_logprobs", out var tokenLogProbs) || tokenLogProbs.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var value in tokenLogProbs.EnumerateArray())
            {
                values.Add(ReadFloat(value));
            }
        }

        return values;
    }

    private static float ReadFloat(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetSingle() : float.NaN;

    private static FinishReason ReadFinishReason(JsonElement choice, GenerationOptions options)
    {
        var reason = choice.TryGetProperty("finish_reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        if (reason == "length")
        {
            return FinishReason.Length;
        }

        // "stop" means EOS or a stop string; only a stop string named in stop_reason (vLLM) counts as Stop.
        var stopMatched = options.StopStrings.Count > 0 &&
                          choice.TryGetProperty("stop_reason", out var stopReason) &&
                          stopReason.ValueKind == JsonValueKind.String &&
                          options.StopStrings.Contains(stopReason.GetString()!);
        return stopMatched ? FinishReason.Stop : FinishReason.Eos;
    }

    /// <summary>The <c>error.message</c> of an OpenAI error body, else the start of the body.</summary>
    private static string ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("error", out var error) &&
                error.ValueKind == JsonValueKind.Object &&
                error.TryGetProperty("message", out var message))
            {
                return message.ToString();
            }
        }
        catch (JsonException)
        {
        }

        return body.Length <= 200 ? body : string.Concat(body.AsSpan(0, 200), "...");
    }

    /// <summary>One attempt's response: status, whole body and the parsed <c>Retry-After</c>.</summary>
    private sealed record AttemptOutcome(int Status, string Body, TimeSpan? RetryAfter);
}
