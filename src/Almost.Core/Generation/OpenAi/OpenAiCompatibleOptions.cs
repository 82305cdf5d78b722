namespace Almost.Generation.OpenAi;

/// <summary>Which OpenAI-compatible endpoint <see cref="OpenAiCompatibleGenerator"/> calls.</summary>
public enum OpenAiApiMode
{
    /// <summary>
    /// <c>POST {BaseUrl}/completions</c>: the prompt is sent as raw text and the model continues it. Use this for vanilla
    /// (base, not instruction-tuned) models: the ALMoST stages prompt them with few-shot transcripts.
    /// </summary>
    Completions,

    /// <summary>
    /// <c>POST {BaseUrl}/chat/completions</c>: the prompt is sent as one user message and the server applies the
    /// model's chat template. Use this for instruction-tuned models.
    /// </summary>
    Chat,
}

/// <summary>
/// Settings of <see cref="OpenAiCompatibleGenerator"/>: where the server is, and how hard to try. Unset
/// <see cref="BaseUrl"/>, <see cref="Model"/> and <see cref="ApiKey"/> fall back to environment variables.
/// </summary>
public sealed record OpenAiCompatibleOptions
{
    /// <summary>Environment variable read when <see cref="BaseUrl"/> is null.</summary>
    public const string BaseUrlVariable = "ALMOST_OPENAI_BASE_URL";

    /// <summary>Environment variable read when <see cref="Model"/> is null.</summary>
    public const string ModelVariable = "ALMOST_OPENAI_MODEL";

    /// <summary>Environment variable read when <see cref="ApiKey"/> is null (first choice).</summary>
    public const string ApiKeyVariable = "ALMOST_OPENAI_API_KEY";

    /// <summary>Environment variable read when <see cref="ApiKey"/> is null and <see cref="ApiKeyVariable"/> is unset.</summary>
    public const string OpenAiApiKeyVariable = "OPENAI_API_KEY";

    /// <summary>
    /// The API root including the version segment, e.g. <c>http://127.0.0.1:8000/v1</c> (vLLM),
    /// <c>http://127.0.0.1:8080/v1</c> (llama.cpp server), <c>http://127.0.0.1:11434/v1</c> (Ollama). Null =
    /// <c>$ALMOST_OPENAI_BASE_URL</c>; one of the two is required.
    /// </summary>
    public string? BaseUrl { get; init; }

    /// <summary>The <c>model</c> field of every request (the served model's name). Null = <c>$ALMOST_OPENAI_MODEL</c>; one of the two is required.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// Sent as <c>Authorization: Bearer {ApiKey}</c>; never logged. Null = <c>$ALMOST_OPENAI_API_KEY</c>, then
    /// <c>$OPENAI_API_KEY</c>; when all are empty no Authorization header is sent (local servers need none).
    /// </summary>
    public string? ApiKey { get; init; }

    /// <summary>Completions (raw text, for vanilla models) or chat. Default <see cref="OpenAiApiMode.Completions"/>.</summary>
    public OpenAiApiMode Mode { get; init; } = OpenAiApiMode.Completions;

    /// <summary>Most requests in flight at once, across all calls on one generator. One request per prompt. Default 8.</summary>
    public int MaxConcurrency { get; init; } = 8;

    /// <summary>Limit of one attempt (sending the request and reading the whole response). Default 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt (so at most <c>MaxRetries + 1</c> attempts per request). Default 4.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>
    /// Base of the jittered exponential backoff: retry <c>k</c> waits about <c>RetryBaseDelay · 2^(k-1)</c>, unless a
    /// 429/503 response carries <c>Retry-After</c>, which is honoured instead. Default 1 s.
    /// </summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on any single wait between attempts, including a server's <c>Retry-After</c>. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Returns a copy with <see cref="BaseUrl"/>, <see cref="Model"/> and <see cref="ApiKey"/> filled from the
    /// environment where they are null.
    /// </summary>
    /// <returns>The resolved options.</returns>
    public OpenAiCompatibleOptions WithEnvironmentFallbacks() => this with
    {
        BaseUrl = BaseUrl ?? NonEmpty(BaseUrlVariable),
        Model = Model ?? NonEmpty(ModelVariable),
        ApiKey = ApiKey ?? NonEmpty(ApiKeyVariable) ?? NonEmpty(OpenAiApiKeyVariable),
    };

    /// <summary>Lists the settings for <c>ToString()</c>, with <see cref="ApiKey"/> redacted so the record can be logged.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"BaseUrl = {BaseUrl}, Model = {Model}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(none)" : "***")}, ");
        builder.Append($"Mode = {Mode}, MaxConcurrency = {MaxConcurrency}, Timeout = {Timeout}, MaxRetries = {MaxRetries}, ");
        builder.Append($"RetryBaseDelay = {RetryBaseDelay}, MaxRetryDelay = {MaxRetryDelay}");
        return true;
    }

    private static string? NonEmpty(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null;
}
