using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Generation;

/// <summary>
/// <see cref="LocalGeneratorOptions.CompactFinishedRows"/>: finished rows leave the device batch (their KV cache rows
/// too), and the rows that go on decode exactly as they would have in the full batch.
/// </summary>
public sealed class RowCompactionTests : IDisposable
{
    private static readonly string[] Prompts =
        ["Hello world", "the", "in the Hello world in", "world the", "Hello", "in the", "the world Hello", "w", "Hello the world in the", "in"];

    private readonly AlmostTokenizer _tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

    private readonly LlamaForCausalLM _model;

    public RowCompactionTests() => _model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(_tokenizer.VocabSize), seed: 5);

    public void Dispose() => _model.Dispose();

    [Fact]
    public void A_cache_keeping_some_rows_continues_those_rows_as_the_full_cache_does()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var prompts = tensor(new long[,] { { 5, 9, 13, 2 }, { 7, 7, 1, 30 }, { 22, 3, 8, 11 } });
        using var full = _model.CreateCache(3, 8);
        using var kept = _model.CreateCache(3, 8);
        _model.forward(prompts, cache: full).Dispose();
        _model.forward(prompts, cache: kept).Dispose();

        kept.KeepRows(tensor(new long[] { 2, 0 }));
        kept.BatchSize.Should().Be(2);
        kept.Length.Should().Be(4, "the kept rows keep every cached position");

        var next = tensor(new long[,] { { 4 }, { 6 }, { 12 } });
        var fullLogits = _model.forward(next, cache: full).Logits;
        var keptLogits = _model.forward(next.index_select(0, tensor(new long[] { 2, 0 })), cache: kept).Logits;
        var expected = fullLogits.index_select(0, tensor(new long[] { 2, 0 }));
        (keptLogits - expected).abs().max().item<float>().Should().BeLessThan(1e-5f);

        var act = () => kept.KeepRows(tensor(Array.Empty<long>()));
        act.Should().Throw<ArgumentException>().WithMessage("*non-empty*");
    }

    [Fact]
    public void Rows_are_dropped_once_a_quarter_have_finished_and_writes_land_in_their_prompt_rows()
    {
        using var scope = NewDisposeScope();
        var state = Enumerable.Range(0, 8).Select(_ => new DecodingRow()).ToArray();
        using var rows = new DecodingBatchRows(8, CPU);
        state[3].Reason = FinishReason.Eos;
        rows.Compact(state).Should().BeNull("one of eight finished rows does not pay for copying the cache");

        state[6].Reason = FinishReason.Stop;
        var kept = rows.Compact(state);
        kept!.data<long>().ToArray().Should().Equal(0, 1, 2, 4, 5, 7);
        rows.Count.Should().Be(6);
        rows.PositionOf(7).Should().Be(5);
        rows.Invoking(r => r.PositionOf(3)).Should().Throw<InvalidOperationException>();

        var column = full(8, 1, -1L);
        rows.Write(column, tensor(new long[] { 10, 11, 12, 14, 15, 17 }).unsqueeze(1));
        column.squeeze(1).data<long>().ToArray().Should().Equal(10, 11, 12, -1, 14, 15, -1, 17);

        // Positions returned by the next compaction are places in the compacted batch, not prompt rows.
        state[0].Reason = state[7].Reason = FinishReason.Length;
        rows.Compact(state)!.data<long>().ToArray().Should().Equal(1, 2, 3, 4);
        rows.PositionOf(5).Should().Be(3);
    }

    [Fact]
    public async Task Greedy_rows_that_go_on_after_others_stop_give_the_same_tokens_as_without_compaction()
    {
        var (stops, free) = await StopsThatFinishSomeRowsEarlyAsync();
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 32, StopStrings = stops, ReturnLogProbs = true };

        var compacted = await Generator(compact: true).GenerateAsync(Prompts, options);
        var plain = await Generator(compact: false).GenerateAsync(Prompts, options);

        for (var i = 0; i < Prompts.Length; i++)
        {
            compacted[i][0].TokenIds.Should().Equal(plain[i][0].TokenIds, $"prompt {i}");
            compacted[i][0].Text.Should().Be(plain[i][0].Text, $"prompt {i}");
            compacted[i][0].FinishReason.Should().Be(plain[i][0].FinishReason, $"prompt {i}");
            compacted[i][0].LogProbs!.Zip(plain[i][0].LogProbs!).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-4, $"prompt {i}");
        }

        // The case the option is for: some rows stopped within the first check interval, others decoded past it.
        plain.Count(r => r[0].FinishReason == FinishReason.Stop && r[0].TokenIds.Count <= 8).Should().BeGreaterThanOrEqualTo(Prompts.Length / 4);
        plain.Count(r => r[0].TokenIds.Count > 16).Should().BeGreaterThan(0);
        free.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Sampled_output_repeats_for_a_seed_and_streaming_gives_the_same_text()
    {
        var (stops, _) = await StopsThatFinishSomeRowsEarlyAsync();
        var options = new GenerationOptions { Temperature = 1, MaxNewTokens = 32, StopStrings = stops, Seed = 9, SamplesPerPrompt = 2 };
        var generator = Generator(compact: true);

        var first = await generator.GenerateAsync(Prompts, options);
        var second = await generator.GenerateAsync(Prompts, options);
        first.SelectMany(r => r).Select(g => g.Text).Should().Equal(second.SelectMany(r => r).Select(g => g.Text));

        // Streaming checks every step but compacts at the same steps, so it draws the same tokens.
        var streamed = new Dictionary<(int, int), string>();
        await foreach (var delta in generator.GenerateStreamingAsync(Prompts, options))
        {
            streamed[(delta.PromptIndex, delta.SampleIndex)] = streamed.GetValueOrDefault((delta.PromptIndex, delta.SampleIndex), "") + delta.Text;
        }

        for (var i = 0; i < Prompts.Length; i++)
        {
            for (var s = 0; s < 2; s++)
            {
                streamed.GetValueOrDefault((i, s), "").Should().Be(first[i][s].Text, $"prompt {i} sample {s}");
            }
        }

        first.SelectMany(r => r).Count(g => g.FinishReason == FinishReason.Stop).Should().BeGreaterThan(0);
    }

    private LocalGenerator Generator(bool compact) =>
        new(_model, _tokenizer, new LocalGeneratorOptions { MaxBatchSize = Prompts.Length * 2, CompactFinishedRows = compact });

    /// <summary>
    /// Stop strings taken from a free greedy run: the first two characters each of a few rows produce after their
    /// second token, so those rows stop early and the rest (whose text does not hold them) go on.
    /// </summary>
    private async Task<(string[] Stops, string[] Free)> StopsThatFinishSomeRowsEarlyAsync()
    {
        var free = (await Generator(compact: false).GenerateAsync(Prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 32 }))
            .Select(r => r[0]).ToArray();
        var stops = new List<string>();
        foreach (var row in free)
        {
            var head = _tokenizer.Decode(row.TokenIds.Take(2));
            var next = row.Text.Length >= head.Length + 2 ? row.Text.Substring(head.Length, 2) : null;
            if (next is null || next.Contains('\uFFFD') || stops.Contains(next))
            {
                continue;
            }

            // Keep it only while some rows never show it (they must decode on).
            var candidate = stops.Append(next).ToArray();
            if (free.Count(r => !candidate.Any(s => r.Text.Contains(s, StringComparison.Ordinal))) >= Prompts.Length / 4)
            {
                stops.Add(next);
            }

            if (stops.Count == 3)
            {
                break;
            }
        }

        stops.Should().NotBeEmpty("the free run must give stop strings that some rows lack");
        return ([.. stops], free.Select(r => r.Text).ToArray());
    }
}
