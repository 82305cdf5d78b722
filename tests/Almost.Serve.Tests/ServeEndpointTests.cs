using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace Almost.Serve.Tests;

[Collection(ServeCollection.Name)]
public sealed class ServeEndpointTests(ServeFixture serve)
{
    private async Task<(HttpStatusCode Status, JsonElement Body, string ContentType)> PostAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await serve.Http.PostAsync(new Uri(serve.BaseUrl, path), content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Content.Headers.ContentType?.MediaType ?? "");
    }

    [Fact]
    public async Task Models_endpoint_lists_the_served_model()
    {
        var text = await serve.Http.GetStringAsync(new Uri(serve.BaseUrl, "models"));
        var root = JsonDocument.Parse(text).RootElement;
        root.GetProperty("object").GetString().Should().Be("list");
        root.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).Should().Equal(ServeFixture.ModelName);
    }

    [Fact]
    public async Task Completion_response_has_the_OpenAI_shape_and_usage()
    {
        var (status, body, contentType) = await PostAsync("completions",
            $$"""{"model":"{{ServeFixture.ModelName}}","prompt":["Hello world","the"],"max_tokens":5,"temperature":0,"n":2}""");
        status.Should().Be(HttpStatusCode.OK);
        contentType.Should().Be("application/json");
        body.GetProperty("id").GetString().Should().StartWith("cmpl-");
        body.GetProperty("object").GetString().Should().Be("text_completion");
        body.GetProperty("model").GetString().Should().Be(ServeFixture.ModelName);
        body.GetProperty("created").GetInt64().Should().BeGreaterThan(0);
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        choices.Select(c => c.GetProperty("index").GetInt32()).Should().Equal(0, 1, 2, 3);
        choices.Should().AllSatisfy(c => c.GetProperty("finish_reason").GetString().Should().BeOneOf("stop", "length"));
        var usage = body.GetProperty("usage");
        usage.GetProperty("prompt_tokens").GetInt32().Should().Be(
            serve.Tokenizer.Encode("Hello world", addBos: true).Length + serve.Tokenizer.Encode("the", addBos: true).Length);
        usage.GetProperty("total_tokens").GetInt32().Should().Be(
            usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData("completions", false)]
    [InlineData("chat/completions", true)]
    public async Task Streaming_sends_sse_chunks_that_reassemble_to_the_plain_response(string path, bool chat)
    {
        var input = chat ? """ "messages":[{"role":"user","content":"Hello world"}] """ : """ "prompt":"Hello world" """;
        var request = $$"""{ {{input}}, "max_tokens":12, "temperature":0, "n":2 """;
        var (_, plain, _) = await PostAsync(path, request + "}");
        var expected = plain.GetProperty("choices").EnumerateArray()
            .Select(c => chat ? c.GetProperty("message").GetProperty("content").GetString() : c.GetProperty("text").GetString())
            .ToList();

        using var content = new StringContent(request + """, "stream": true }""", Encoding.UTF8, "application/json");
        using var response = await serve.Http.PostAsync(new Uri(serve.BaseUrl, path), content);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        events.Should().AllSatisfy(e => e.Should().StartWith("data: "));
        events[^1].Should().Be("data: [DONE]");
        var texts = new StringBuilder[expected.Count];
        var finished = new string?[expected.Count];
        foreach (var e in events[..^1])
        {
            var chunk = JsonDocument.Parse(e["data: ".Length..]).RootElement;
            chunk.GetProperty("object").GetString().Should().Be(chat ? "chat.completion.chunk" : "text_completion");
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                var i = choice.GetProperty("index").GetInt32();
                texts[i] ??= new StringBuilder();
                var piece = chat
                    ? choice.GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : null
                    : choice.GetProperty("text").GetString();
                texts[i].Append(piece);
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finished[i] = choice.GetProperty("finish_reason").GetString();
                }
            }
        }

        texts.Select(t => t.ToString()).Should().Equal(expected);
        finished.Should().AllSatisfy(f => f.Should().BeOneOf("stop", "length"));
        expected.Should().Contain(t => t!.Length > 0, "the comparison must not be vacuous");
    }

    [Theory]
    [InlineData("completions", "{\"prompt\": \"Hello\", ", 400, null, null)]                                // bad JSON
    [InlineData("completions", "[1, 2, 3]", 400, null, null)]                                                // not an object
    [InlineData("completions", "{\"max_tokens\": 4}", 400, "prompt", null)]                                  // missing prompt
    [InlineData("completions", "{\"prompt\": 42}", 400, "prompt", null)]                                     // wrong type
    [InlineData("completions", "{\"prompt\": \"Hi\", \"max_tokens\": 49}", 400, "max_tokens", null)]        // over the limit
    [InlineData("completions", "{\"prompt\": \"Hi\", \"max_tokens\": \"4\"}", 400, "max_tokens", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"temperature\": -0.5}", 400, "temperature", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"temperature\": \"hot\"}", 400, "temperature", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"n\": 0}", 400, "n", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"n\": 17}", 400, "n", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"stop\": 3}", 400, "stop", null)]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"model\": \"gpt-4\"}", 404, "model", "model_not_found")]
    [InlineData("completions", "{\"prompt\": \"Hi\", \"stream_options\": {\"include_usage\": true}}", 400, "stream_options", null)]   // without stream
    [InlineData("completions", "{\"prompt\": \"Hi\", \"stream\": true, \"stream_options\": {\"include_usage\": 1}}", 400, "stream_options.include_usage", null)]
    [InlineData("chat/completions", "{\"model\": \"tiny-llama\"}", 400, "messages", null)]                   // missing messages
    [InlineData("chat/completions", "{\"messages\": [{\"role\": \"user\"}]}", 400, "messages[0]", null)]
    [InlineData("chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", 400, "messages", null)]
    public async Task Bad_requests_get_an_OpenAI_error_body(string path, string json, int status, string? param, string? code)
    {
        var (actual, body, contentType) = await PostAsync(path, json);
        ((int)actual).Should().Be(status);
        contentType.Should().Be("application/json");
        AssertOpenAiError(body, param, code);
    }

    [Fact]
    public async Task A_prompt_too_long_for_the_context_window_is_a_400_not_a_500()
    {
        var (status, body, _) = await PostAsync("completions",
            $$"""{"prompt":"{{string.Concat(Enumerable.Repeat("xq ", 60))}}","max_tokens":48}""");
        status.Should().Be(HttpStatusCode.BadRequest);
        AssertOpenAiError(body, null, null);
        body.GetProperty("error").GetProperty("message").GetString().Should().Contain("max_position_embeddings");
    }

    [Fact]
    public async Task A_body_over_one_MiB_gets_413_in_the_OpenAI_error_shape()
    {
        var json = $$"""{"prompt":"{{new string('a', (1 << 20) + 100)}}"}""";
        var (status, body, _) = await PostAsync("completions", json);
        status.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        AssertOpenAiError(body, null, "request_too_large");
    }

    private static void AssertOpenAiError(JsonElement body, string? param, string? code)
    {
        var error = body.GetProperty("error");
        error.GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace();
        error.GetProperty("type").GetString().Should().Be("invalid_request_error");
        ReadNullable(error.GetProperty("param")).Should().Be(param);
        ReadNullable(error.GetProperty("code")).Should().Be(code);
    }

    private static string? ReadNullable(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetString();
}
