using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Almost.Serve.Tests;

[Collection(ServeCollection.Name)]
public sealed class ServeHardeningTests(ServeFixture serve)
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(Uri baseUrl, string path, HttpContent content, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, path)) { Content = content };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await serve.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string[] Texts(JsonElement body) =>
        [.. body.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()!)];

    [Fact]
    public async Task A_body_that_is_not_utf8_is_a_400_invalid_request_error()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"prompt\": \"Hi X\", \"max_tokens\": 2}");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xFF;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var (status, body) = await PostAsync(serve.BaseUrl, "completions", content);

        status.Should().Be(HttpStatusCode.BadRequest);
        body.GetProperty("error").GetProperty("type").GetString().Should().Be("invalid_request_error");
        body.GetProperty("error").GetProperty("message").GetString().Should().Contain("UTF-8");
    }

    [Fact]
    public async Task Prompts_given_as_token_id_arrays_generate_as_their_text_does()
    {
        var ids = serve.Tokenizer.Encode("Hello world", addBos: true);
        var idList = string.Join(",", ids);
        var (_, fromText) = await PostAsync(serve.BaseUrl, "completions", Json("""{"prompt":"Hello world","max_tokens":6,"temperature":0}"""));
        var (single, fromIds) = await PostAsync(serve.BaseUrl, "completions", Json($$"""{"prompt":[{{idList}}],"max_tokens":6,"temperature":0}"""));
        var (_, fromLists) = await PostAsync(serve.BaseUrl, "completions", Json($$"""{"prompt":[[{{idList}}],[{{idList}}]],"max_tokens":6,"temperature":0}"""));

        single.Should().Be(HttpStatusCode.OK);
        Texts(fromIds).Should().Equal(Texts(fromText));
        Texts(fromLists).Should().Equal([.. Texts(fromText), .. Texts(fromText)]);
        fromIds.GetProperty("usage").GetProperty("prompt_tokens").GetInt32().Should().Be(ids.Length);

        var (outside, error) = await PostAsync(serve.BaseUrl, "completions", Json("""{"prompt":[1, 100000],"max_tokens":2}"""));
        outside.Should().Be(HttpStatusCode.BadRequest);
        error.GetProperty("error").GetProperty("param").GetString().Should().Be("prompt");
        var (mixed, _) = await PostAsync(serve.BaseUrl, "completions", Json("""{"prompt":[1, "a"],"max_tokens":2}"""));
        mixed.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task With_an_api_key_only_requests_bearing_it_are_served()
    {
        const string Key = "sk-test-0123456789";
        await using var app = ServeApp.Build(new ServeOptions
        {
            ModelFolder = serve.Folder, ModelName = ServeFixture.ModelName, Urls = "http://127.0.0.1:0", Device = "cpu",
            ApiKey = Key, MinimumLogLevel = LogLevel.Warning,
        });
        await app.StartAsync();
        var baseUrl = new Uri(app.Urls.Single().TrimEnd('/') + "/v1/");
        const string Request = """{"prompt":"Hi","max_tokens":2,"temperature":0}""";

        var (missing, missingBody) = await PostAsync(baseUrl, "completions", Json(Request));
        var (wrong, _) = await PostAsync(baseUrl, "completions", Json(Request), bearer: Key + "x");
        var (right, _) = await PostAsync(baseUrl, "completions", Json(Request), bearer: Key);
        using var models = await serve.Http.GetAsync(new Uri(baseUrl, "models"));
        await app.StopAsync();

        missing.Should().Be(HttpStatusCode.Unauthorized);
        missingBody.GetProperty("error").GetProperty("code").GetString().Should().Be("invalid_api_key");
        wrong.Should().Be(HttpStatusCode.Unauthorized);
        right.Should().Be(HttpStatusCode.OK);
        models.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        new ServeOptions { ModelFolder = "m", ApiKey = Key }.ToString().Should().NotContain(Key).And.Contain("ApiKey = ***");
    }

    [Fact]
    public async Task Concurrent_clients_get_the_same_completions_as_a_sequential_run()
    {
        // The load test: 8 clients at once; every completion must equal the one a sequential run gives for its seed.
        const int Clients = 8, PerClient = 12;
        string Request(int i) => $$"""{"prompt":"the {{i % 5}}","max_tokens":8,"temperature":1.0,"seed":{{i}},"n":2}""";
        var sequential = new List<string[]>();
        for (var i = 0; i < Clients * PerClient; i++)
        {
            sequential.Add(Texts((await PostAsync(serve.BaseUrl, "completions", Json(Request(i)))).Body));
        }

        var concurrent = new string[Clients * PerClient][];
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (var k = 0; k < PerClient; k++)
            {
                var i = c * PerClient + k;
                var (status, body) = await PostAsync(serve.BaseUrl, "completions", Json(Request(i)));
                status.Should().Be(HttpStatusCode.OK);
                concurrent[i] = Texts(body);
            }
        })));

        concurrent.Should().BeEquivalentTo(sequential, o => o.WithStrictOrdering());
    }
}
