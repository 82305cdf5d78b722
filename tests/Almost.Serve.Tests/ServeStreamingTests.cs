using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Almost.Generation;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Almost.Serve.Tests;

/// <summary>
/// <c>"stream": true</c> is token by token: chunks reassemble to the plain response, arrive while decoding is still
/// going on, and a client that goes away stops the decoding.
/// </summary>
[Collection(ServeCollection.Name)]
public sealed class ServeStreamingTests(ServeFixture serve)
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonElement> PostAsync(string path, string json)
    {
        using var response = await serve.Http.PostAsync(new Uri(serve.BaseUrl, path), Json(json));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>The <c>data:</c> payloads of a server-sent event stream, each as soon as its event has arrived.</summary>
    private static async IAsyncEnumerable<string> EventsAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken ct = default)
    {
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            line.Should().StartWith("data: ");
            yield return line["data: ".Length..];
        }
    }

    private static string Text(JsonElement choice, bool chat, bool streamed) => chat
        ? (choice.GetProperty(streamed ? "delta" : "message").TryGetProperty("content", out var c) ? c.GetString()! : "")
        : choice.GetProperty("text").GetString()!;

    private static string? Nullable(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetString();

    /// <summary>Two characters from the middle of a choice's text that contain no replacement character.</summary>
    private static string CleanStop(IEnumerable<string> texts) => texts
        .SelectMany(t => Enumerable.Range(t.Length / 3, Math.Max(0, t.Length / 3)).Select(i => t.Substring(i, 2)))
        .First(s => !s.Any(ch => ch == '\uFFFD' || char.IsSurrogate(ch) || char.IsControl(ch)));

    [Theory]
    [InlineData("completions", false)]
    [InlineData("chat/completions", true)]
    public async Task Streamed_chunks_reassemble_to_the_plain_response_with_sampling_stops_logprobs_and_usage(string path, bool chat)
    {
        var input = chat
            ? """ "messages":[{"role":"user","content":"h\u00e9llo w\u00f6rld"}], "logprobs":true """
            : """ "prompt":["Hello world","h\u00e9llo w\u00f6rld"], "logprobs":1 """;
        var request = $$"""{ {{input}}, "max_tokens":24, "temperature":1.0, "seed":5, "n":3 """;
        var free = (await PostAsync(path, request + "}")).GetProperty("choices").EnumerateArray().Select(c => Text(c, chat, false)).ToList();
        var stop = CleanStop(free);
        request += $$""", "stop":{{JsonSerializer.Serialize(stop)}} """;
        var plain = await PostAsync(path, request + "}");
        var expected = plain.GetProperty("choices").EnumerateArray().ToList();

        using var response = await serve.Http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, new Uri(serve.BaseUrl, path))
            {
                Content = Json(request + """, "stream":true, "stream_options":{"include_usage":true} }"""),
            },
            HttpCompletionOption.ResponseHeadersRead);
        var events = new List<string>();
        await foreach (var e in EventsAsync(response))
        {
            events.Add(e);
        }

        events[^1].Should().Be("[DONE]");
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        chunks.Should().AllSatisfy(c => c.GetProperty("object").GetString().Should().Be(chat ? "chat.completion.chunk" : "text_completion"));
        chunks.Select(c => c.GetProperty("id").GetString()).Distinct().Should().ContainSingle();
        var usage = chunks[^1];
        usage.GetProperty("choices").GetArrayLength().Should().Be(0);
        usage.GetProperty("usage").GetRawText().Should().Be(plain.GetProperty("usage").GetRawText());
        var parts = chunks[..^1].Select(c => c.GetProperty("choices").EnumerateArray().Single()).ToList();
        parts.Should().HaveCountGreaterThan(expected.Count * 3, "several chunks per choice, not the text at once");

        var stopped = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            var mine = parts.Where(p => p.GetProperty("index").GetInt32() == i).ToList();
            var want = expected[i];
            if (chat)
            {
                mine[0].GetProperty("delta").GetProperty("role").GetString().Should().Be("assistant");
            }

            string.Concat(mine.Select(p => Text(p, chat, true))).Should().Be(Text(want, chat, false), $"choice {i}");
            mine.Take(mine.Count - 1).Should().OnlyContain(p => p.GetProperty("finish_reason").ValueKind == JsonValueKind.Null);
            mine[^1].GetProperty("finish_reason").GetString().Should().Be(want.GetProperty("finish_reason").GetString());
            Nullable(mine[^1].GetProperty("stop_reason")).Should().Be(Nullable(want.GetProperty("stop_reason")));
            stopped += Nullable(want.GetProperty("stop_reason")) == stop ? 1 : 0;

            var logProbs = mine.Select(p => p.GetProperty("logprobs")).Where(l => l.ValueKind != JsonValueKind.Null).ToList();
            if (chat)
            {
                logProbs.SelectMany(l => l.GetProperty("content").EnumerateArray()).Select(t => t.GetRawText()).Should().Equal(
                    want.GetProperty("logprobs").GetProperty("content").EnumerateArray().Select(t => t.GetRawText()));
            }
            else
            {
                foreach (var field in new[] { "tokens", "token_logprobs", "text_offset" })
                {
                    logProbs.SelectMany(l => l.GetProperty(field).EnumerateArray()).Select(t => t.GetRawText()).Should().Equal(
                        want.GetProperty("logprobs").GetProperty(field).EnumerateArray().Select(t => t.GetRawText()), field);
                }
            }
        }

        stopped.Should().BeGreaterThan(0, $"some choice must end at the stop string {stop}");
    }

    [Fact]
    public async Task Chunks_arrive_while_later_samples_are_still_being_decoded()
    {
        // One row per batch, so the three samples decode one after another. When the generator logs the end of the
        // first batch, the hook waits until the client has read two chunks: a server that decoded everything before
        // sending would never send them, and the wait would time out.
        using var twoChunks = new SemaphoreSlim(0);
        var hook = new LogHook(message =>
        {
            if (message.StartsWith("Batch 1/3", StringComparison.Ordinal))
            {
                return twoChunks.Wait(TimeSpan.FromSeconds(20));
            }

            return true;
        });
        await using var app = await StartServerAsync(hook);
        using var http = new HttpClient();
        using var response = await http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, BaseUrl(app, "completions"))
            {
                Content = Json("""{"prompt":"Hello world","max_tokens":16,"temperature":0,"n":3,"stream":true}"""),
            },
            HttpCompletionOption.ResponseHeadersRead);
        var events = new List<string>();
        await foreach (var e in EventsAsync(response))
        {
            events.Add(e);
            if (events.Count == 2)
            {
                twoChunks.Release();
            }
        }

        hook.Results.Should().HaveCount(3).And.StartWith(true, "two chunks were read before the first sample's decoding ended");
        events[^1].Should().Be("[DONE]");
        var expected = (await serve.Reference.GenerateAsync(["Hello world"], new GenerationOptions { MaxNewTokens = 16, Temperature = 0 }))[0][0];
        var texts = events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0])
            .GroupBy(c => c.GetProperty("index").GetInt32())
            .Select(g => string.Concat(g.Select(c => c.GetProperty("text").GetString())));
        texts.Should().Equal(expected.Text, expected.Text, expected.Text);
    }

    [Fact]
    public async Task A_client_that_goes_away_stops_the_decoding()
    {
        using var disconnected = new SemaphoreSlim(0);
        var afterDisconnect = false;
        var hook = new LogHook(message =>
        {
            if (!message.StartsWith("Batch ", StringComparison.Ordinal))
            {
                return true;
            }

            // Hold the first batch's end until the client is gone; then give every later batch time for the abort.
            if (!afterDisconnect)
            {
                afterDisconnect = disconnected.Wait(TimeSpan.FromSeconds(20));
            }

            Thread.Sleep(1000);
            return afterDisconnect;
        });
        await using var app = await StartServerAsync(hook);
        using (var http = new HttpClient())
        {
            using var response = await http.SendAsync(
                new HttpRequestMessage(HttpMethod.Post, BaseUrl(app, "completions"))
                {
                    Content = Json("""{"prompt":"Hello world","max_tokens":48,"temperature":1.0,"seed":1,"n":4,"stream":true}"""),
                },
                HttpCompletionOption.ResponseHeadersRead);
            await foreach (var _ in EventsAsync(response))
            {
                break;   // one chunk, then hang up
            }
        }

        disconnected.Release();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!hook.Lines.Any(l => l.Contains("client went away", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        hook.Lines.Should().Contain(l => l.Contains("client went away", StringComparison.Ordinal));
        hook.Lines.Should().NotContain(l => l.Contains("Batch 4/4", StringComparison.Ordinal), "decoding stopped before the last sample");
        hook.Lines.Should().NotContain(l => l.Contains("(streamed)", StringComparison.Ordinal));

        // The gate is free again: the next request is served.
        using var http2 = new HttpClient();
        using var next = await http2.PostAsync(BaseUrl(app, "completions"), Json("""{"prompt":"Hi","max_tokens":2}"""));
        next.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static Uri BaseUrl(WebApplication app, string path) => new(new Uri(app.Urls.Single().TrimEnd('/') + "/v1/"), path);

    /// <summary>A second server on the fixture's checkpoint, one row per batch, whose debug logs go to <paramref name="hook"/>.</summary>
    private async Task<WebApplication> StartServerAsync(LogHook hook)
    {
        var app = ServeApp.Build(new ServeOptions
        {
            ModelFolder = serve.Folder,
            ModelName = ServeFixture.ModelName,
            Urls = "http://127.0.0.1:0",
            Device = "cpu",
            MinimumLogLevel = LogLevel.Debug,
            Generator = new LocalGeneratorOptions { MaxBatchSize = 1 },
        });
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(hook);
        await app.StartAsync();
        return app;
    }

    /// <summary>
    /// Keeps the Almost log lines and calls a hook, on the logging thread, for each <see cref="LocalGenerator"/>
    /// message; the hook may block that thread (the generator's worker) and returns a result to keep.
    /// </summary>
    private sealed class LogHook(Func<string, bool> onGeneratorLog) : ILoggerProvider
    {
        public Func<string, bool> OnGeneratorLog { get; } = onGeneratorLog;

        public ConcurrentQueue<string> Lines { get; } = new();

        public ConcurrentQueue<bool> Results { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogHook hook, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => category.StartsWith("Almost.", StringComparison.Ordinal);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel))
                {
                    return;
                }

                var message = formatter(state, exception);
                hook.Lines.Enqueue($"{category}: {message}");
                if (category == typeof(LocalGenerator).FullName)
                {
                    hook.Results.Enqueue(hook.OnGeneratorLog(message));
                }
            }
        }
    }
}
