using Almost.Generation;
using Almost.LlamaCpp;
using Almost.TinyWorld.Pipeline;
using FluentAssertions;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary>
/// <see cref="TinyWorldPipeline.FrozenGenerator"/>: the generator of a frozen zoo model on each backend of
/// <see cref="PipelineOptions.FrozenGenerator"/> (on the tiny zoo model, to stay quick).
/// </summary>
public sealed class FrozenGeneratorTests : IDisposable
{
    private static readonly string[] Prompts =
    [
        "\n\nHuman: What is the capital of Norland?\n\nAssistant:",
        "\n\nHuman: Sort the list 3, 9, 1.\n\nAssistant:",
    ];

    private readonly string _output = Path.Combine(Path.GetTempPath(), "almost-frozen-" + Guid.NewGuid().ToString("N"));

    private PipelineOptions Options(FrozenGeneratorBackend backend) => PipelineOptions.Fast(_output) with { FrozenGenerator = backend };

    [Fact]
    public void LlamaCpp_backend_generates_from_a_GGUF_export_written_once_and_reused_on_a_rerun()
    {
        string gguf;
        var old = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        using (var pipeline = new TinyWorldPipeline(Options(FrozenGeneratorBackend.LlamaCpp)))
        {
            var generator = pipeline.FrozenGenerator("tiny");

            generator.Should().BeOfType<LlamaCppGenerator>();
            gguf = pipeline.PathOf("gguf", "tiny.gguf");
            File.Exists(gguf).Should().BeTrue("the factory exports the zoo model before loading it");
            new FileInfo(gguf).Length.Should().BeGreaterThan(new FileInfo(Path.Combine(pipeline.World.ModelFolder("tiny"), "model.safetensors")).Length / 2, "an F32 export");
            Directory.GetFiles(Path.GetDirectoryName(gguf)!).Should().Equal([gguf], "no temporary file is left");
            pipeline.FrozenGenerator("tiny").Should().BeSameAs(generator, "one llama.cpp context per zoo model and pipeline");
        }

        File.SetLastWriteTimeUtc(gguf, old);
        using (var rerun = new TinyWorldPipeline(Options(FrozenGeneratorBackend.LlamaCpp)))
        {
            rerun.FrozenGenerator("tiny").Should().BeOfType<LlamaCppGenerator>();
        }

        File.GetLastWriteTimeUtc(gguf).Should().Be(old, "a rerun loads the existing export instead of writing it again");
    }

    [Fact]
    public async Task LlamaCpp_samples_repeat_with_the_seed_and_greedy_output_equals_the_Local_backend()
    {
        var sampled = new GenerationOptions { Temperature = 0.7, MaxNewTokens = 16, Seed = 3, SamplesPerPrompt = 2 };
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = 16 };
        IReadOnlyList<IReadOnlyList<GenerationResult>> first, greedyLlama;
        using (var pipeline = new TinyWorldPipeline(Options(FrozenGeneratorBackend.LlamaCpp)))
        {
            var generator = pipeline.FrozenGenerator("tiny");
            first = await generator.GenerateAsync(Prompts, sampled);
            Texts(await generator.GenerateAsync(Prompts, sampled)).Should().Equal(Texts(first), "same seed, same samples");
            Texts(await generator.GenerateAsync(Prompts, sampled with { Seed = 4 })).Should().NotEqual(Texts(first));
            greedyLlama = await generator.GenerateAsync(Prompts, greedy);
            ((LlamaCppGenerator)generator).Tokenize("Hi")[0].Should().Be(pipeline.Vanilla("tiny").Tokenizer.BosTokenId, "BOS first, as LocalGenerator does");
        }

        using (var rerun = new TinyWorldPipeline(Options(FrozenGeneratorBackend.LlamaCpp)))
        {
            Texts(await rerun.FrozenGenerator("tiny").GenerateAsync(Prompts, sampled)).Should().Equal(Texts(first), "a fresh pipeline on the same export samples the same");
        }

        using var local = new TinyWorldPipeline(Options(FrozenGeneratorBackend.Local));
        local.FrozenGenerator("tiny").Should().BeOfType<LocalGenerator>();
        var greedyLocal = await local.FrozenGenerator("tiny").GenerateAsync(Prompts, greedy);
        for (int p = 0; p < Prompts.Length; p++)
        {
            greedyLlama[p][0].TokenIds.Should().Equal(greedyLocal[p][0].TokenIds, $"prompt {p}: the export is the same model");
        }
    }

    [Fact]
    public void Local_backend_writes_no_export()
    {
        using var pipeline = new TinyWorldPipeline(Options(FrozenGeneratorBackend.Local));

        pipeline.FrozenGenerator("tiny").Should().BeOfType<LocalGenerator>();
        Directory.Exists(pipeline.PathOf("gguf")).Should().BeFalse();
    }

    public void Dispose()
    {
        if (Directory.Exists(_output))
        {
            Directory.Delete(_output, recursive: true);
        }
    }

    private static List<string> Texts(IReadOnlyList<IReadOnlyList<GenerationResult>> results) => results.SelectMany(r => r).Select(r => r.Text).ToList();
}
