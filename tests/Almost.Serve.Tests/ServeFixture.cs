using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using FluentAssertions;
using Xunit;

namespace Almost.Serve.Tests;

/// <summary>
/// A tiny LLaMA checkpoint and byte-level tokenizer saved to a temp folder, served by Almost.Serve on an ephemeral
/// loopback port, plus a <see cref="LocalGenerator"/> over the same folder as the reference.
/// </summary>
public sealed class ServeFixture : IAsyncLifetime
{
    public const string ModelName = "tiny-llama";
    public const int MaxTokensLimit = 48;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "almost-serve-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;
    private LlamaForCausalLM? _reference;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The checkpoint folder being served (for tests that start a second server on it).</summary>
    public string Folder => _folder;

    public LocalGenerator Reference { get; private set; } = null!;

    public AlmostTokenizer Tokenizer { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        HfTokenizerFiles.WriteByteLevelBpe(
            _folder, TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials,
            "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");
        using (var model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(TinyByteLevelBpe.ImEnd + 1), seed: 3))
        {
            model.SavePretrained(_folder);
        }

        Tokenizer = AlmostTokenizer.FromFolder(_folder);
        _reference = LlamaForCausalLM.FromPretrained(_folder, new ModelOptions { Device = "cpu" });
        Reference = new LocalGenerator(_reference, Tokenizer);
        _app = ServeApp.Build(new ServeOptions
        {
            ModelFolder = _folder,
            ModelName = ModelName,
            Urls = "http://127.0.0.1:0",
            Device = "cpu",
            MaxTokensLimit = MaxTokensLimit,
            MinimumLogLevel = LogLevel.Warning,
        });
        await _app.StartAsync();
        BaseUrl = new Uri(_app.Urls.Single().TrimEnd('/') + "/v1/");
        BaseUrl.IsLoopback.Should().BeTrue();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _reference?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class ServeCollection : ICollectionFixture<ServeFixture>
{
    public const string Name = "Almost.Serve on loopback";
}
