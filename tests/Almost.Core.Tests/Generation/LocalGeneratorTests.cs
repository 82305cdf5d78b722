using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Generation;

public sealed class LocalGeneratorTests : IDisposable
{
    private readonly LlamaForCausalLM _model;
    private readonly AlmostTokenizer _tokenizer;

    public LocalGeneratorTests()
    {
        _tokenizer = TokenizerLoader.FromByteLevelBpe(
            TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");
        _model = TinyConfigs.Create(TinyConfigs.ByteLevelGenerator(_tokenizer.VocabSize), seed: 3);
    }

    public void Dispose() => _model.Dispose();

    private LocalGenerator Generator(int batch = 16, int interval = 8) =>
        new(_model, _tokenizer, new LocalGeneratorOptions { MaxBatchSize = batch, StopCheckInterval = interval });

    private static readonly string[] Prompts = ["Hello world", "the", "in the Hello world in", "wor"];

    /// <summary>Greedy continuation by repeated full forwards, no cache, no batching: the reference.</summary>
    private List<int> ArgmaxReference(int[] prompt, int maxNew)
    {
        var ids = prompt.ToList();
        var produced = new List<int>();
        for (var i = 0; i < maxNew; i++)
        {
            using var input = tensor(ids.Select(x => (long)x).ToArray()).unsqueeze(0);
            using var logits = _model.Logits(input);
            var next = (int)logits[0, -1].argmax().item<long>();
            if (next == TinyByteLevelBpe.EndOfText)
            {
                break;
            }

            produced.Add(next);
            ids.Add(next);
        }

        return produced;
    }

    [Fact]
    public async Task Greedy_output_equals_argmax_of_repeated_full_forwards_for_every_row_of_a_mixed_length_batch()
    {
        var options = new GenerationOptions { MaxNewTokens = 20, Temperature = 0 };
        var batched = await Generator().GenerateAsync(Prompts, options);
        var alone = new List<GenerationResult>();
        foreach (var prompt in Prompts)
        {
            alone.Add((await Generator(batch: 1).GenerateAsync([prompt], options))[0][0]);
        }

        for (var i = 0; i < Prompts.Length; i++)
        {
            var reference = ArgmaxReference(_tokenizer.Encode(Prompts[i], addBos: true), 20);
            batched[i][0].TokenIds.Should().Equal(reference, $"prompt {i} in a batch");
            alone[i].TokenIds.Should().Equal(reference, $"prompt {i} alone");
            batched[i][0].Text.Should().Be(_tokenizer.Decode(reference));
            batched[i][0].FinishReason.Should().Be(reference.Count < 20 ? FinishReason.Eos : FinishReason.Length);
        }

        batched.Select(b => string.Join(",", b[0].TokenIds)).Distinct().Should().HaveCountGreaterThan(1, "prompts must matter");
    }

    [Fact]
    public async Task Same_seed_gives_same_samples_and_another_seed_does_not()
    {
        var options = new GenerationOptions { MaxNewTokens = 16, Temperature = 1.0, TopK = 50, TopP = 0.95, Seed = 42, SamplesPerPrompt = 3 };
        var a = await Generator().GenerateAsync(Prompts, options);
        var b = await Generator().GenerateAsync(Prompts, options);
        var c = await Generator().GenerateAsync(Prompts, options with { Seed = 43 });
        string Flat(IReadOnlyList<IReadOnlyList<GenerationResult>> r) => string.Join("|", r.SelectMany(x => x).Select(x => string.Join(",", x.TokenIds)));
        Flat(a).Should().Be(Flat(b));
        Flat(a).Should().NotBe(Flat(c));
        a.Should().AllSatisfy(samples => samples.Should().HaveCount(3));
        a[0].Select(s => string.Join(",", s.TokenIds)).Distinct().Should().HaveCountGreaterThan(1, "samples of one prompt differ");
    }

    [Fact]
    public async Task Returned_log_probs_equal_log_softmax_of_a_full_forward_at_the_chosen_tokens()
    {
        var options = new GenerationOptions { MaxNewTokens = 12, Temperature = 0.8, Seed = 5, ReturnLogProbs = true };
        var results = await Generator().GenerateAsync(Prompts, options);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var r = results[i][0];
            r.LogProbs.Should().HaveCount(r.TokenIds.Count);
            var prompt = _tokenizer.Encode(Prompts[i], addBos: true);
            var all = prompt.Concat(r.TokenIds).Select(x => (long)x).ToArray();
            using var input = tensor(all).unsqueeze(0);
            using var lp = _model.TokenLogProbs(input);
            for (var t = 0; t < r.TokenIds.Count; t++)
            {
                r.LogProbs![t].Should().BeApproximately(lp[0, prompt.Length - 1 + t].item<float>(), 1e-4f);
            }
        }
    }

    [Fact]
    public async Task Stop_strings_cut_the_text_exactly_before_the_stop()
    {
        var greedy = new GenerationOptions { MaxNewTokens = 24, Temperature = 0 };
        var free = (await Generator().GenerateAsync(Prompts, greedy)).Select(r => r[0]).ToList();
        // Pick a stop string from inside each free-running text, so the cut is known in advance.
        var checkedPrompts = 0;
        for (var i = 0; i < Prompts.Length; i++)
        {
            var text = free[i].Text;
            if (text.Length < 4)
            {
                continue;
            }

            checkedPrompts++;
            var stop = text.Substring(2, 2);
            var cut = text.IndexOf(stop, StringComparison.Ordinal);
            foreach (var interval in new[] { 1, 5 })
            {
                var stopped = (await Generator(interval: interval).GenerateAsync([Prompts[i]], greedy with { StopStrings = [stop] }))[0][0];
                stopped.Text.Should().Be(text[..cut]);
                stopped.FinishReason.Should().Be(FinishReason.Stop);
                _tokenizer.Decode(stopped.TokenIds).Should().Contain(stop);
                _tokenizer.Decode(stopped.TokenIds.Take(stopped.TokenIds.Count - 1)).Should().NotContain(stop, "tokens end at the one that completed the stop");
            }
        }

        checkedPrompts.Should().BeGreaterThan(1);
    }

    [Fact]
    public async Task Prompts_too_long_for_the_model_are_refused_and_progress_is_reported()
    {
        var options = new GenerationOptions { MaxNewTokens = 100, Temperature = 0 };
        var act = () => Generator().GenerateAsync([new string('x', 60)], options);
        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*Prompt 0*max_position_embeddings*");

        var reports = new List<GenerationProgress>();
        var progress = new SyncProgress(reports);
        await Generator(batch: 2).GenerateAsync(Prompts, options with { MaxNewTokens = 4 }, progress);
        reports.Should().HaveCount(2);
        reports[^1].CompletedPrompts.Should().Be(4);
        reports[^1].TotalPrompts.Should().Be(4);
    }

    [Fact]
    public async Task Cancellation_stops_generation()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var act = () => Generator().GenerateAsync(Prompts, new GenerationOptions { MaxNewTokens = 8 }, cancellationToken: cts.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    private sealed class SyncProgress(List<GenerationProgress> sink) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => sink.Add(value);
    }
}
