using System.Collections.Concurrent;
using System.Diagnostics;
using Almost.Generation;
using Almost.Generation.OpenAi;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace Almost.Serve.Tests;

/// <summary>
/// <see cref="OpenAiCompatibleGenerator"/> against a scripted loopback server that fails the first attempts in
/// chosen ways: retries, Retry-After, timeouts, the error after the retry budget, and that the API key is never logged.
/// </summary>
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    private const string ApiKey = "sk-test-SECRET-123";

    [Fact]
    public async Task Errors_429_with_Retry_After_dropped_connections_and_stalls_are_retried_to_success_without_logging_the_key()
    {
        await using var server = await FaultServer.StartAsync(
            FaultServer.Status(500),
            FaultServer.TooManyRequests(retryAfterSeconds: 1),
            FaultServer.Abort(),
            FaultServer.Stall(TimeSpan.FromSeconds(30)));
        var logs = new InMemoryLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = new OpenAiCompatibleGenerator(
            Options(server, maxRetries: 4, timeout: TimeSpan.FromSeconds(2)),
            logger: loggerFactory.CreateLogger<OpenAiCompatibleGenerator>());

        var watch = Stopwatch.StartNew();
        var results = await client.GenerateAsync(["Hello"], new GenerationOptions { MaxNewTokens = 4, SamplesPerPrompt = 2, ReturnLogProbs = true });
        watch.Stop();
        output.WriteLine($"5 attempts (500, 429+Retry-After 1 s, abort, 2 s stall, 200) took {watch.ElapsedMilliseconds} ms");

        results[0].Select(r => r.Text).Should().Equal("ok 0", "ok 1");
        results[0][0].LogProbs.Should().Equal(-0.5f, -0.25f);
        results[0][0].FinishReason.Should().Be(FinishReason.Length);
        server.Attempts.Should().Be(5);
        watch.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(2.9), "Retry-After: 1 and the 2 s attempt timeout are honoured");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the stall is cut by the attempt timeout, not waited out");

        server.Authorizations.Should().HaveCount(5).And.AllBe($"Bearer {ApiKey}");
        var lines = logs.Lines.ToList();
        lines.Count(l => l.StartsWith("Warning", StringComparison.Ordinal)).Should().Be(4, "each retry is logged");
        lines.Should().Contain(l => l.Contains("status 500")).And.Contain(l => l.Contains("status 429"));
        lines.Should().Contain(l => l.Contains(server.BaseUrl.Authority), "the endpoint is logged");
        lines.Should().NotContain(l => l.Contains("SECRET", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Always_500_fails_after_the_retry_budget_naming_endpoint_status_and_attempts()
    {
        await using var server = await FaultServer.StartAsync(Enumerable.Repeat(FaultServer.Status(500), 100).ToArray());
        var logs = new InMemoryLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var client = new OpenAiCompatibleGenerator(
            Options(server, maxRetries: 3, timeout: TimeSpan.FromSeconds(5)),
            logger: loggerFactory.CreateLogger<OpenAiCompatibleGenerator>());

        var watch = Stopwatch.StartNew();
        var act = () => client.GenerateAsync(["a", "b"], new GenerationOptions { MaxNewTokens = 4 });
        var error = (await act.Should().ThrowAsync<OpenAiCompatibleException>()).Which;
        output.WriteLine($"always-500 gave up after {watch.ElapsedMilliseconds} ms: {error.Message}");

        error.Attempts.Should().Be(4);
        error.StatusCode.Should().Be(500);
        error.Endpoint.Should().Be(new Uri(server.BaseUrl, "completions"));
        error.Message.Should().Contain(server.BaseUrl.Authority).And.Contain("4 attempt").And.Contain("500").And.Contain("injected failure");
        error.Message.Should().NotContain("SECRET");
        server.Attempts.Should().BeInRange(4, 8, "two prompts, four attempts each at most, the second cancelled when the first fails");
        logs.Lines.Should().NotContain(l => l.Contains("SECRET", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_400_is_not_retried()
    {
        await using var server = await FaultServer.StartAsync(FaultServer.Status(400));
        using var client = new OpenAiCompatibleGenerator(Options(server, maxRetries: 4, timeout: TimeSpan.FromSeconds(5)));
        var act = () => client.GenerateAsync(["a"], new GenerationOptions());
        var error = (await act.Should().ThrowAsync<OpenAiCompatibleException>()).Which;
        error.Attempts.Should().Be(1);
        error.StatusCode.Should().Be(400);
        server.Attempts.Should().Be(1);
    }

    [Fact]
    public void Options_ToString_redacts_the_key()
    {
        var options = new OpenAiCompatibleOptions { BaseUrl = "http://127.0.0.1:1/v1", Model = "m", ApiKey = ApiKey };
        options.ToString().Should().NotContain("SECRET").And.Contain("ApiKey = ***").And.Contain("127.0.0.1:1");
    }

    private static OpenAiCompatibleOptions Options(FaultServer server, int maxRetries, TimeSpan timeout) => new()
    {
        BaseUrl = server.BaseUrl.ToString(),
        Model = "scripted",
        ApiKey = ApiKey,
        Mode = OpenAiApiMode.Completions,
        MaxRetries = maxRetries,
        Timeout = timeout,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>
    /// A Kestrel app on 127.0.0.1:0 whose <c>/v1/completions</c> plays one scripted behaviour per attempt, then
    /// answers a fixed completion with <c>n</c> choices.
    /// </summary>
    private sealed class FaultServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Func<HttpContext, Task>> _script;
        private int _attempts;

        private FaultServer(WebApplication app, IEnumerable<Func<HttpContext, Task>> script)
        {
            _app = app;
            _script = new ConcurrentQueue<Func<HttpContext, Task>>(script);
        }

        public Uri BaseUrl { get; private set; } = null!;

        public int Attempts => Volatile.Read(ref _attempts);

        public ConcurrentQueue<string> Authorizations { get; } = new();

        public static async Task<FaultServer> StartAsync(params Func<HttpContext, Task>[] script)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new FaultServer(app, script);
            app.MapPost("/v1/completions", server.HandleAsync);
            await app.StartAsync();
            server.BaseUrl = new Uri(app.Urls.Single().TrimEnd('/') + "/v1/");
            server.BaseUrl.IsLoopback.Should().BeTrue();
            return server;
        }

        public static Func<HttpContext, Task> Status(int status) => context =>
        {
            context.Response.StatusCode = status;
            return context.Response.WriteAsJsonAsync(new { error = new { message = "injected failure", type = "server_error", param = (string?)null, code = (string?)null } });
        };

        public static Func<HttpContext, Task> TooManyRequests(int retryAfterSeconds) => context =>
        {
            context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Status(429)(context);
        };

        public static Func<HttpContext, Task> Abort() => context =>
        {
            context.Abort();
            return Task.CompletedTask;
        };

        public static Func<HttpContext, Task> Stall(TimeSpan delay) => async context =>
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The client timed out and went away.
            }
        };

        private async Task HandleAsync(HttpContext context)
        {
            Interlocked.Increment(ref _attempts);
            Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            using var doc = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            if (_script.TryDequeue(out var behaviour))
            {
                await behaviour(context);
                return;
            }

            var n = doc.RootElement.GetProperty("n").GetInt32();
            await context.Response.WriteAsJsonAsync(new
            {
                id = "cmpl-1",
                @object = "text_completion",
                created = 1,
                model = "scripted",
                choices = Enumerable.Range(0, n).Reverse().Select(i => new
                {
                    index = i,
                    text = $"ok {i}",
                    logprobs = new { tokens = new[] { "ok", $" {i}" }, token_logprobs = new[] { -0.5f, -0.25f } },
                    finish_reason = "length",
                }),
                usage = new { prompt_tokens = 1, completion_tokens = 2 * n, total_tokens = 1 + 2 * n },
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
