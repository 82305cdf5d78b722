using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace Almost.Core.Tests.Generation;

public sealed class LocalGeneratorStreamingTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Prompts = ["Hello world", "the", "in the Hello world in", "h\u00e9llo w\u00f6rld"];

    private readonly AlmostTokenizer _tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

    private LlamaForCausalLM? _model;

    private LlamaForCausalLM Model => _model ??= TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(_tokenizer.VocabSize), seed: 3);

    public void Dispose() => _model?.Dispose();

    private LocalGenerator Generator(int batch = 4) => new(Model, _tokenizer, new LocalGeneratorOptions { MaxBatchSize = batch });

    private static async Task<List<GenerationDelta>> CollectAsync(IAsyncEnumerable<GenerationDelta> stream)
    {
        var deltas = new List<GenerationDelta>();
        await foreach (var delta in stream)
        {
            deltas.Add(delta);
        }

        return deltas;
    }

    /// <summary>A stop string of two characters, the last of one token and the first of the next, from a free run.</summary>
    private string StopSpanningTokens(IEnumerable<GenerationResult> free) =>
        free.Select(StopSpanningTokens).FirstOrDefault(s => s is not null)
        ?? throw new InvalidOperationException("No token boundary with two clean characters around it.");

    private string? StopSpanningTokens(GenerationResult free)
    {
        var text = free.Text;
        for (var k = 2; k < free.TokenIds.Count - 1; k++)
        {
            var before = _tokenizer.Decode(free.TokenIds.Take(k));
            var at = before.Length - 1;
            if (!text.StartsWith(before, StringComparison.Ordinal) || at + 2 > text.Length ||
                text.AsSpan(at, 2).ContainsAny('\uFFFD', '\n') || char.IsSurrogate(text[at]) || char.IsSurrogate(text[at + 1]))
            {
                continue;
            }

            var stop = text.Substring(at, 2);
            if (text.IndexOf(stop, StringComparison.Ordinal) == at)
            {
                return stop;
            }
        }

        return null;
    }

    [Fact]
    public async Task Streamed_deltas_concatenate_to_the_generated_results_for_the_same_seed()
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = 24, Temperature = 1.0, Seed = 11, SamplesPerPrompt = 3, ReturnLogProbs = true,
        };
        var free = await Generator().GenerateAsync(Prompts, options);
        var stop = StopSpanningTokens(free.SelectMany(r => r));
        options = options with { StopStrings = [stop, "\u00e9\u00e9"] };

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var expected = await Generator().GenerateAsync(Prompts, options);
        var generateMs = watch.ElapsedMilliseconds;
        var deltas = await CollectAsync(Generator().GenerateStreamingAsync(Prompts, options));
        output.WriteLine($"generate {generateMs} ms, stream {watch.ElapsedMilliseconds - generateMs} ms");

        output.WriteLine($"stop string {stop}; {deltas.Count} deltas");
        var splitCharacters = 0;
        var heldBack = 0;
        for (var p = 0; p < Prompts.Length; p++)
        {
            for (var s = 0; s < options.SamplesPerPrompt; s++)
            {
                var mine = deltas.Where(d => d.PromptIndex == p && d.SampleIndex == s).ToList();
                var result = expected[p][s];
                string.Concat(mine.Select(d => d.Text)).Should().Be(result.Text, $"prompt {p} sample {s}");
                mine.SelectMany(d => d.TokenIds).Should().Equal(result.TokenIds);
                mine.SelectMany(d => d.LogProbs!).Should().Equal(result.LogProbs!, "the same numbers, bit for bit");
                mine.Should().OnlyContain(d => d.TokenIds.Count <= 1, "one step, one token");
                mine.Count(d => d.FinishReason is not null).Should().Be(1);
                mine[^1].FinishReason.Should().Be(result.FinishReason);

                // Text handed out is never taken back: every running concatenation is a prefix of the final text.
                var sent = "";
                foreach (var delta in mine)
                {
                    sent += delta.Text;
                    result.Text.Should().StartWith(sent);
                    heldBack += delta.Text.Length == 0 && delta.TokenIds.Count > 0 ? 1 : 0;
                }

                splitCharacters += SplitCharacters(result.TokenIds);
            }
        }

        output.WriteLine($"{splitCharacters} characters split across tokens, {heldBack} deltas with tokens but no text yet");
        expected.SelectMany(r => r).Should().Contain(r => r.FinishReason == FinishReason.Stop);
        expected.SelectMany(r => r).Should().Contain(r => r.FinishReason != FinishReason.Stop);
        splitCharacters.Should().BeGreaterThan(0, "a multi-byte character must arrive in pieces for the test to mean something");
        heldBack.Should().BeGreaterThan(0);
    }

    /// <summary>Token prefixes whose text ends in a replacement character that the next token turns into a real one.</summary>
    private int SplitCharacters(IReadOnlyList<int> tokens)
    {
        var count = 0;
        for (var k = 1; k < tokens.Count; k++)
        {
            var before = _tokenizer.Decode(tokens.Take(k));
            if (before.EndsWith('\uFFFD') && !_tokenizer.Decode(tokens.Take(k + 1)).StartsWith(before, StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }

    [Fact]
    public async Task Deltas_arrive_one_step_at_a_time_while_later_batches_are_still_decoding()
    {
        // One row per batch; the worker reports progress after batch 1 and waits there until this reader has seen two
        // deltas. A generator that decoded everything before handing anything out would never get past that wait.
        var received = 0;
        using var two = new SemaphoreSlim(0);
        var sawTwoBeforeBatchOneEnded = new List<bool>();
        var progress = new SyncProgress(_ =>
        {
            if (sawTwoBeforeBatchOneEnded.Count == 0)
            {
                sawTwoBeforeBatchOneEnded.Add(two.Wait(TimeSpan.FromSeconds(20)));
            }
        });
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 0 };
        var deltas = new List<GenerationDelta>();
        await foreach (var delta in Generator(batch: 1).GenerateStreamingAsync(Prompts, options, progress))
        {
            deltas.Add(delta);
            if (++received == 2)
            {
                two.Release();
            }
        }

        sawTwoBeforeBatchOneEnded.Should().Equal(true);
        var expected = await Generator(batch: 1).GenerateAsync(Prompts, options);
        for (var p = 0; p < Prompts.Length; p++)
        {
            var result = expected[p][0];
            var mine = deltas.Where(d => d.PromptIndex == p).ToList();
            result.TokenIds.Should().NotBeEmpty();
            mine.Should().HaveCount(result.TokenIds.Count + (result.FinishReason == FinishReason.Eos ? 1 : 0), "one delta per decoding step");
            mine.Select(d => d.TokenIds.Count).Take(result.TokenIds.Count).Should().AllBeEquivalentTo(1);
        }
    }

    [Fact]
    public async Task Cancelling_stops_decoding_and_hands_out_nothing_more()
    {
        using var cts = new CancellationTokenSource();
        using var cancelled = new SemaphoreSlim(0);
        var reports = new List<GenerationProgress>();
        var progress = new SyncProgress(p =>
        {
            reports.Add(p);
            cancelled.Wait(TimeSpan.FromSeconds(20));   // batch 1 is done; hold the worker until the reader has cancelled
        });
        var deltas = new List<GenerationDelta>();
        var act = async () =>
        {
            await foreach (var delta in Generator(batch: 1).GenerateStreamingAsync(Prompts, new GenerationOptions { MaxNewTokens = 16 }, progress, cts.Token))
            {
                deltas.Add(delta);
                cts.Cancel();
                cancelled.Release();
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        // Decoding stops at the next step, within the first batch or (if it ran ahead) before the second one starts.
        reports.Should().HaveCountLessThan(2, "no batch after the first one finishes");
        deltas.Should().ContainSingle("nothing is handed out once the reader has cancelled");
        cts.IsCancellationRequested.Should().BeTrue();
    }

    [Fact]
    public void A_prompt_too_long_is_refused_by_the_call_not_during_enumeration()
    {
        var act = () => Generator().GenerateStreamingAsync([new string('x', 60)], new GenerationOptions { MaxNewTokens = 100 });
        act.Should().Throw<ArgumentException>().WithMessage("*Prompt 0*max_position_embeddings*");
    }

    private sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
