using System.Globalization;
using Almost.Generation;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;

namespace Almost.Serve;

/// <summary>Settings of <see cref="ServeApp"/>: what to serve, where, and the request limits.</summary>
public sealed record ServeOptions
{
    /// <summary>The command-line help.</summary>
    public const string Usage =
        "usage: Almost.Serve --model <folder> [--port <port> | --urls <url>[;<url>...]] [--model-name <name>]\n" +
        "                    [--chat-template transcript|chatml] [--max-tokens <limit>] [--max-n <limit>] [--device cpu|cuda]\n" +
        "                    [--api-key <key> (or $ALMOST_SERVE_API_KEY)]\n" +
        "  Serves the checkpoint folder (config.json + model.safetensors + tokenizer files) on http://127.0.0.1:8000 by default.";

    /// <summary>The checkpoint folder: <c>config.json</c>, <c>model.safetensors</c> (or shards) and the tokenizer files. Required.</summary>
    public required string ModelFolder { get; init; }

    /// <summary>Where to listen, separated by <c>;</c>. Default <c>http://127.0.0.1:8000</c> (loopback only); port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8000";

    /// <summary>The model id in <c>/v1/models</c> and the only accepted <c>model</c> field. Null = the folder's name.</summary>
    public string? ModelName { get; init; }

    /// <summary>Renders <c>/v1/chat/completions</c> messages into one prompt. Default <see cref="TranscriptChatTemplate"/>.</summary>
    public IChatTemplate ChatTemplate { get; init; } = TranscriptChatTemplate.Instance;

    /// <summary>Largest accepted <c>max_tokens</c>; a request above it gets 400. Default 512.</summary>
    public int MaxTokensLimit { get; init; } = 512;

    /// <summary>Largest accepted <c>n</c> (samples per prompt). Default 16.</summary>
    public int MaxSamples { get; init; } = 16;

    /// <summary>Largest accepted number of prompts in one <c>/v1/completions</c> request (an array <c>prompt</c>). Default 32.</summary>
    public int MaxPrompts { get; init; } = 32;

    /// <summary>Largest request body in bytes (Kestrel's <c>MaxRequestBodySize</c>); larger bodies get 413. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;

    /// <summary>The environment variable <see cref="FromArgs"/> reads the API key from when <c>--api-key</c> is not given.</summary>
    public const string ApiKeyVariable = "ALMOST_SERVE_API_KEY";

    /// <summary>
    /// When set, every request must carry <c>Authorization: Bearer {ApiKey}</c> (else 401 <c>invalid_api_key</c>);
    /// compared in constant time and never logged or printed (<see cref="ToString"/> redacts it). Default null: no key,
    /// which is safe only on the default loopback address.
    /// </summary>
    public string? ApiKey { get; init; }

    /// <summary>Device for the model (<c>cpu</c>, <c>cuda</c>); null = <c>$ALMOST_DEVICE</c>, else CUDA when available, else CPU.</summary>
    public string? Device { get; init; }

    /// <summary>Batching settings of the <see cref="LocalGenerator"/> behind the endpoints.</summary>
    public LocalGeneratorOptions Generator { get; init; } = new();

    /// <summary>Least severe log level written by the server. Default <see cref="LogLevel.Information"/>.</summary>
    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>The options for logs and diagnostics, with <see cref="ApiKey"/> redacted.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        $"ServeOptions {{ ModelFolder = {ModelFolder}, Urls = {Urls}, ModelName = {ModelName}, ApiKey = {(ApiKey is null ? "none" : "***")}, " +
        $"MaxTokensLimit = {MaxTokensLimit}, MaxSamples = {MaxSamples}, MaxPrompts = {MaxPrompts}, MaxRequestBodyBytes = {MaxRequestBodyBytes}, Device = {Device} }}";

    /// <summary>Reads the options from command-line arguments (see <see cref="Usage"/>).</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">An unknown flag, a missing value, or no <c>--model</c>, or a <c>--model</c> that is not a folder (relative paths are taken from the working directory).</exception>
    public static ServeOptions FromArgs(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? folder = null, urls = null, name = null, device = null, apiKey = Environment.GetEnvironmentVariable(ApiKeyVariable);
        IChatTemplate template = TranscriptChatTemplate.Instance;
        int maxTokens = 512, maxSamples = 16;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new ArgumentException($"{args[i - 1]} needs a positive integer, got '{args[i]}'.");
            switch (args[i])
            {
                case "--model": folder = Value(); break;
                case "--urls": urls = Value(); break;
                case "--port": urls = $"http://127.0.0.1:{Int()}"; break;
                case "--model-name": name = Value(); break;
                case "--device": device = Value(); break;
                case "--api-key": apiKey = Value(); break;
                case "--max-tokens": maxTokens = Int(); break;
                case "--max-n": maxSamples = Int(); break;
                case "--chat-template":
                    template = Value() switch
                    {
                        "transcript" => TranscriptChatTemplate.Instance,
                        "chatml" => ChatMLTemplate.Instance,
                        var other => throw new ArgumentException($"--chat-template must be 'transcript' or 'chatml', got '{other}'."),
                    };
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        if (folder is null)
        {
            throw new ArgumentException("--model <folder> is required.");
        }

        return new ServeOptions
        {
            ModelFolder = Almost.Samples.SampleArguments.ExistingFolder(folder, "--model"),
            Urls = urls ?? "http://127.0.0.1:8000",
            ModelName = name,
            Device = device,
            ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey,
            ChatTemplate = template,
            MaxTokensLimit = maxTokens,
            MaxSamples = maxSamples,
        };
    }
}
