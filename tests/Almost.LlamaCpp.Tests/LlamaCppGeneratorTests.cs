using Almost.Export.Gguf;
using Almost.Generation;
using Almost.Models.Llama;
using FluentAssertions;
using TorchSharp;
using Xunit;

namespace Almost.LlamaCpp.Tests;

/// <summary><see cref="LlamaCppGenerator"/> on a GGUF export of the TinyWorld zoo model.</summary>
public sealed class LlamaCppGeneratorTests : IClassFixture<LlamaCppGeneratorTests.ZooExport>
{
    private static readonly string[] Prompts =
    [
        "\n\nHuman: What is the capital of Norland?\n\nAssistant:",
        "\n\nHuman: What is 12 plus 30?\n\nAssistant:",
        "\n\nHuman: Sort these words: pear, fig, apple.\n\nAssistant:",
        "Once upon a time",
        "The river",
        "\n\nHuman: Reverse the word cat.\n\nAssistant:",
    ];

    private readonly ZooExport _zoo;

    public LlamaCppGeneratorTests(ZooExport zoo) => _zoo = zoo;

    [Fact]
    public async Task Greedy_batched_decoding_matches_LocalGenerator_token_for_token()
    {
        torch.set_num_threads(1);
        using var model = LlamaForCausalLM.FromPretrained(GgufExportParityTests.ZooTiny, new ModelOptions { Device = "cpu" });
        var local = new LocalGenerator(model, GgufExportParityTests.ZooTokenizer(), new LocalGeneratorOptions { AddBos = false, MaxBatchSize = 4 });
        using var llama = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 4, MaxSequenceLength = 128, Threads = 1 });
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 24 };

        var ours = await local.GenerateAsync(Prompts, options);
        var theirs = await llama.GenerateAsync(Prompts, options);

        for (int p = 0; p < Prompts.Length; p++)
        {
            theirs[p][0].TokenIds.Should().Equal(ours[p][0].TokenIds, $"prompt {p}");
            theirs[p][0].Text.Should().Be(ours[p][0].Text);
            theirs[p][0].FinishReason.Should().Be(ours[p][0].FinishReason);
        }
    }

    [Fact]
    public void Samples_repeat_with_the_seed_do_not_depend_on_the_batch_size_and_change_with_another_seed()
    {
        var options = new GenerationOptions { Temperature = 1.0, TopP = 0.9, TopK = 50, MaxNewTokens = 16, SamplesPerPrompt = 3, Seed = 5 };
        using var wide = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 18, MaxSequenceLength = 96, Threads = 1 });
        using var narrow = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 5, MaxSequenceLength = 96, Threads = 1 });

        var first = Texts(wide.Generate(Prompts, options));
        Texts(wide.Generate(Prompts, options)).Should().Equal(first);
        Texts(narrow.Generate(Prompts, options)).Should().Equal(first);
        Texts(wide.Generate(Prompts, options with { Seed = 6 })).Should().NotEqual(first);
        first.Should().HaveCount(Prompts.Length * 3);
        first.Distinct().Count().Should().BeGreaterThan(Prompts.Length, "samples of one prompt differ");
    }

    [Fact]
    public void Stop_strings_cut_the_text_and_log_probs_are_reported()
    {
        using var llama = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 6, MaxSequenceLength = 128, Threads = 1 });
        var free = llama.Generate(Prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 48 });
        var stop = free.SelectMany(r => r).Select(r => r.Text).First(t => t.Length > 4)[1..3];

        var results = llama.Generate(Prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 48, StopStrings = [stop], ReturnLogProbs = true });

        var stopped = results.SelectMany(r => r).Where(r => r.FinishReason == FinishReason.Stop).ToList();
        stopped.Should().NotBeEmpty();
        stopped.Should().OnlyContain(r => !r.Text.Contains(stop));
        results.SelectMany(r => r).Should().OnlyContain(r => r.LogProbs!.Count == r.TokenIds.Count && r.LogProbs.All(l => l <= 0));
    }

    [Fact]
    public async Task Reports_progress_and_stops_when_cancelled()
    {
        using var llama = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 2, MaxSequenceLength = 96, Threads = 1 });
        var reports = new List<GenerationProgress>();
        var progress = new SynchronousProgress(reports.Add);
        await llama.GenerateAsync(Prompts, new GenerationOptions { Temperature = 0, MaxNewTokens = 4 }, progress);
        reports.Select(r => r.CompletedPrompts).Should().Equal(2, 4, 6);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var act = () => llama.GenerateAsync(Prompts, new GenerationOptions { MaxNewTokens = 4 }, cancellationToken: cancelled.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public void Rejects_a_prompt_longer_than_the_sequence_length()
    {
        using var llama = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 1, MaxSequenceLength = 16, Threads = 1 });
        var act = () => llama.Generate([string.Concat(Enumerable.Repeat("word ", 20))], new GenerationOptions { MaxNewTokens = 4 });
        act.Should().Throw<ArgumentException>().WithMessage("*prompts[0]*MaxSequenceLength 16*");
    }

    [Fact]
    public void Last_token_logits_are_the_models_next_token_logits()
    {
        torch.set_num_threads(1);
        using var model = LlamaForCausalLM.FromPretrained(GgufExportParityTests.ZooTiny, new ModelOptions { Device = "cpu" });
        using var llama = new LlamaCppGenerator(_zoo.Path, new LlamaCppGeneratorOptions { MaxBatchSize = 1, MaxSequenceLength = 64, Threads = 1 });
        int[] ids = GgufExportParityTests.ZooTokenizer().Encode(Prompts[0]);

        float[] logits = llama.LastTokenLogits(ids);

        using var reference = model.Logits(torch.tensor(ids, dtype: torch.ScalarType.Int64).unsqueeze(0));
        float[] ours = reference[0, -1].data<float>().ToArray();
        logits.Zip(ours, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(0.02f, "F16 KV cache by default");
    }

    private static List<string> Texts(IReadOnlyList<IReadOnlyList<GenerationResult>> results) => results.SelectMany(r => r).Select(r => r.Text).ToList();

    private sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    /// <summary>The zoo's tiny model exported once to F32 for all tests here.</summary>
    public sealed class ZooExport : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("almost-gguf-gen-").FullName;

        public ZooExport()
        {
            torch.set_num_threads(1);
            using var model = LlamaForCausalLM.FromPretrained(GgufExportParityTests.ZooTiny, new ModelOptions { Device = "cpu" });
            Path = model.SaveGguf(System.IO.Path.Combine(_folder, "zoo-tiny.gguf"), GgufExportParityTests.ZooTokenizer()).Path;
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}
