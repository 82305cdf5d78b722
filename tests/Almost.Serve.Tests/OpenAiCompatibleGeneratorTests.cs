using Almost.Data;
using Almost.Generation;
using Almost.Generation.OpenAi;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Serve.Tests;

/// <summary><see cref="OpenAiCompatibleGenerator"/> against Almost.Serve over real loopback HTTP, checked against <see cref="LocalGenerator"/>.</summary>
[Collection(ServeCollection.Name)]
public sealed class OpenAiCompatibleGeneratorTests(ServeFixture serve)
{
    private static readonly string[] Prompts = ["Hello world", "the", "in the Hello world in", "wor"];

    private OpenAiCompatibleGenerator Client(OpenAiApiMode mode) => new(new OpenAiCompatibleOptions
    {
        BaseUrl = serve.BaseUrl.ToString(),
        Model = ServeFixture.ModelName,
        ApiKey = "sk-unused",
        Mode = mode,
        MaxConcurrency = 2,
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
    });

    [Fact]
    public async Task Greedy_completions_over_http_equal_LocalGenerator()
    {
        var options = new GenerationOptions { MaxNewTokens = 20, Temperature = 0 };
        using var client = Client(OpenAiApiMode.Completions);
        var progress = new List<GenerationProgress>();
        var remote = await client.GenerateAsync(Prompts, options, new SynchronousProgress(progress));
        var local = await serve.Reference.GenerateAsync(Prompts, options);
        for (var i = 0; i < Prompts.Length; i++)
        {
            remote[i].Should().ContainSingle();
            remote[i][0].Text.Should().Be(local[i][0].Text, $"prompt {i}");
            remote[i][0].FinishReason.Should().Be(local[i][0].FinishReason);
            remote[i][0].TokenIds.Should().BeEmpty("OpenAI responses carry no token ids");
        }

        remote.Select(r => r[0].Text).Distinct().Should().HaveCountGreaterThan(1, "prompts must matter");
        progress.Should().HaveCount(Prompts.Length);
        progress.Max(p => p.CompletedPrompts).Should().Be(Prompts.Length);
        progress.Max(p => p.GeneratedTokens).Should().Be(local.Sum(r => r[0].TokenIds.Count));
    }

    [Fact]
    public async Task Greedy_chat_over_http_equals_LocalGenerator_on_the_templated_prompt()
    {
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 0 };
        using var client = Client(OpenAiApiMode.Chat);
        var remote = await client.GenerateAsync(Prompts, options);
        var template = TranscriptChatTemplate.Instance;
        var templated = Prompts.Select(p => template.Format([ChatMessage.User(p)], addGenerationPrompt: true)).ToList();
        var local = await serve.Reference.GenerateAsync(templated, options with { StopStrings = template.StopStrings });
        remote.Select(r => r[0].Text).Should().Equal(local.Select(r => r[0].Text));
        local.Should().Contain(r => r[0].Text.Length > 0);
    }

    [Fact]
    public async Task Seeded_samples_with_n_above_one_equal_LocalGenerator_with_the_same_seed()
    {
        var options = new GenerationOptions { MaxNewTokens = 10, Temperature = 1.0, TopK = 50, TopP = 0.95, Seed = 42, SamplesPerPrompt = 3 };
        using var client = Client(OpenAiApiMode.Completions);
        var remote = await client.GenerateAsync(Prompts, options);
        for (var i = 0; i < Prompts.Length; i++)
        {
            // The client sends one request per prompt, so the server decodes each prompt as its own batch.
            var local = (await serve.Reference.GenerateAsync([Prompts[i]], options))[0];
            remote[i].Should().HaveCount(3);
            remote[i].Select(s => s.Text).Should().Equal(local.Select(s => s.Text), $"prompt {i}");
        }

        remote[0].Select(s => s.Text).Distinct().Should().HaveCountGreaterThan(1, "samples of one prompt differ");
    }

    [Theory]
    [InlineData(OpenAiApiMode.Completions)]
    [InlineData(OpenAiApiMode.Chat)]
    public async Task Log_probs_over_http_equal_LocalGenerator_within_1e_4(OpenAiApiMode mode)
    {
        var options = new GenerationOptions { MaxNewTokens = 12, Temperature = 0, ReturnLogProbs = true };
        using var client = Client(mode);
        var remote = await client.GenerateAsync(Prompts, options);
        var prompts = mode == OpenAiApiMode.Chat
            ? Prompts.Select(p => TranscriptChatTemplate.Instance.Format([ChatMessage.User(p)], true)).ToList()
            : Prompts.ToList();
        var local = await serve.Reference.GenerateAsync(prompts, options with
        {
            StopStrings = mode == OpenAiApiMode.Chat ? TranscriptChatTemplate.Instance.StopStrings : [],
        });
        for (var i = 0; i < Prompts.Length; i++)
        {
            var expected = local[i][0].LogProbs!;
            expected.Should().NotBeEmpty();
            remote[i][0].LogProbs.Should().HaveCount(expected.Count);
            for (var t = 0; t < expected.Count; t++)
            {
                remote[i][0].LogProbs![t].Should().BeApproximately(expected[t], 1e-4f, $"prompt {i} token {t}");
            }
        }
    }

    [Fact]
    public async Task A_stop_string_the_server_names_in_stop_reason_finishes_with_Stop()
    {
        var greedy = new GenerationOptions { MaxNewTokens = 24, Temperature = 0 };
        var free = (await serve.Reference.GenerateAsync(Prompts, greedy)).Select(r => r[0].Text).ToList();
        var i = free.FindIndex(t => t.Length >= 4);
        i.Should().BeGreaterThanOrEqualTo(0);
        var stop = free[i].Substring(2, 2);
        using var client = Client(OpenAiApiMode.Completions);
        var stopped = (await client.GenerateAsync([Prompts[i]], greedy with { StopStrings = [stop] }))[0][0];
        stopped.Text.Should().Be(free[i][..free[i].IndexOf(stop, StringComparison.Ordinal)]);
        stopped.FinishReason.Should().Be(FinishReason.Stop);
    }

    private sealed class SynchronousProgress(List<GenerationProgress> sink) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }
        }
    }
}
