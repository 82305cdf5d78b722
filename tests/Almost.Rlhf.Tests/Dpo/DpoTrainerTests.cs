using System.Text.Json;
using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Models.Llama;
using Almost.Rlhf.Dpo;
using Almost.Rlhf.Training;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests.Dpo;

public class DpoTrainerTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");

    private static LlamaConfig Config => TinyModels.Config(maxPositions: 64) with { VocabSize = 280 };

    private static readonly PreferenceRecord[] Records = Enumerable.Range(0, 8).Select(i => new PreferenceRecord
    {
        Prompt = AlmostTranscript.FormatPrompt(i % 2 == 0 ? "Hello world" : "the in"),
        Chosen = i % 2 == 0 ? " Hello world." : " the world.",
        Rejected = i % 2 == 0 ? " in the in" : " Hello Hello",
    }).ToArray();

    [Theory]
    // Summed log-probs: policy chosen −2, rejected −3; reference chosen −2.5, rejected −2.5; β = 0.5 → h = 0.5 − (−0.5) = 1.
    [InlineData(DpoLossType.Sigmoid, 0.0, 0.474077)]        // −log σ(0.5) = 0.474077
    [InlineData(DpoLossType.Sigmoid, 0.1, 0.524077)]        // 0.9·0.474077 + 0.1·0.974077
    // Averaged over 2 and 4 tokens: h = 0.5/2 − (−0.5/4) = 0.375; IPO (0.375 − 1)² = 0.390625; length-normalised −log σ(0.1875).
    [InlineData(DpoLossType.Ipo, 0.0, 0.390625)]
    [InlineData(DpoLossType.LengthNormalized, 0.0, 0.603785)]   // ln(1 + e^−0.1875)
    public void Loss_equals_hand_computed_values(DpoLossType type, double smoothing, double expected)
    {
        var output = DpoLoss.Compute(tensor(new[] { -2f }), tensor(new[] { -3f }), tensor(new[] { -2.5f }), tensor(new[] { -2.5f }),
            tensor(new[] { 2f }), tensor(new[] { 4f }), beta: 0.5, type, smoothing);
        output.LossSum.item<float>().Should().BeApproximately((float)expected, 1e-5f);
        output.Metrics!["margin"].Sum.item<float>().Should().BeApproximately(0.5f, 1e-6f, "β·(0.5) − β·(−0.5)");
        output.Metrics["reward_accuracy"].Sum.item<float>().Should().Be(1f);
    }

    [Fact]
    public void Prompt_tokens_never_contribute_to_the_completion_log_probs()
    {
        var model = TinyModels.Create(Config);
        var examples = DpoTrainer.Tokenize(Records.Take(2), Tokenizer, maxLength: 64);
        using var batch = DpoBatch.Collate(examples, 0, CPU);
        using var noGrad = no_grad();
        var sums = batch.CompletionLogProbs(model).data<float>().ToArray();

        // By hand: the log-probs of the chosen completion's tokens only, from a forward of the whole sequence.
        var e = examples[0];
        var ids = e.PromptIds.Concat(e.ChosenIds).Select(i => (long)i).ToArray();
        using var logProbs = model.TokenLogProbs(tensor(ids).unsqueeze(0));
        var expected = logProbs[0].data<float>().ToArray().Skip(e.PromptIds.Length - 1).Sum();
        sums[0].Should().BeApproximately(expected, 1e-4f);
        batch.CompletionTokens.data<float>().ToArray()[0].Should().Be(e.ChosenIds.Length);
        e.ChosenIds[^1].Should().Be(TinyByteLevelBpe.EndOfText, "completions end with EOS");
    }

    [Fact]
    public async Task Cached_reference_log_probs_train_exactly_like_on_the_fly_ones_and_raise_reward_accuracy()
    {
        var examples = DpoTrainer.Tokenize(Records, Tokenizer, maxLength: 64);
        DpoTrainingOptions Options(string dir) => new()
        {
            OutputDir = dir, LearningRate = 5e-3, Beta = 0.5, PerDeviceBatchSize = 4, MaxSteps = 12, LoggingSteps = 1, SaveSteps = 0, WarmupSteps = 0,
        };

        using var cachedDir = new TempFolder();
        var cached = DpoTrainer.CacheReferenceLogProbs(TinyModels.Create(Config), examples);
        await new DpoTrainer(TinyModels.Create(Config), cached, Options(cachedDir.Path)).TrainAsync();

        using var liveDir = new TempFolder();
        await new DpoTrainer(TinyModels.Create(Config), examples, Options(liveDir.Path), reference: TinyModels.Create(Config)).TrainAsync();

        var a = Metrics.Read(cachedDir.Path).Select(r => r.Loss).ToList();
        var b = Metrics.Read(liveDir.Path).Select(r => r.Loss).ToList();
        b.Should().Equal(a, (x, y) => Math.Abs(x - y) < 1e-5);
        a[0].Should().BeApproximately(Math.Log(2), 1e-4, "policy = reference at the start: −log σ(0)");
        var accuracy = File.ReadAllLines(Path.Combine(cachedDir.Path, MetricsSink.FileName))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("reward_accuracy").GetDouble()).ToList();
        accuracy.TakeLast(3).Average().Should().Be(1.0);
        a.TakeLast(3).Average().Should().BeLessThan(a[0] * 0.5);
    }

    [Fact]
    public async Task A_large_beta_keeps_the_policy_closer_to_the_reference()
    {
        var examples = DpoTrainer.CacheReferenceLogProbs(TinyModels.Create(Config), DpoTrainer.Tokenize(Records, Tokenizer, 64));
        async Task<double> Drift(double beta)
        {
            using var dir = new TempFolder();
            var policy = TinyModels.Create(Config);
            await new DpoTrainer(policy, examples, new DpoTrainingOptions
            {
                OutputDir = dir.Path, LearningRate = 5e-3, Beta = beta, PerDeviceBatchSize = 8, MaxSteps = 15, SaveSteps = 0, WarmupSteps = 0, LoggingSteps = 5,
            }).TrainAsync();
            var after = DpoTrainer.CacheReferenceLogProbs(policy, examples);
            return after.Zip(examples).Average(p => Math.Abs(p.First.ReferenceChosen!.Value - p.Second.ReferenceChosen!.Value)
                                                    + Math.Abs(p.First.ReferenceRejected!.Value - p.Second.ReferenceRejected!.Value));
        }

        var small = await Drift(0.05);
        var large = await Drift(50);
        large.Should().BeLessThan(small, "β is the strength of the pull back to the reference");
    }

    [Fact]
    public async Task Resume_equals_an_uninterrupted_run()
    {
        var examples = DpoTrainer.CacheReferenceLogProbs(TinyModels.Create(Config), DpoTrainer.Tokenize(Records, Tokenizer, 64));
        DpoTrainingOptions Options(string dir, bool resume) => new()
        {
            OutputDir = dir, LearningRate = 5e-3, PerDeviceBatchSize = 2, MaxSteps = 8, LoggingSteps = 1, SaveSteps = 3, ResumeFromCheckpoint = resume,
        };
        using var dirA = new TempFolder();
        var a = TinyModels.Create(Config);
        await new DpoTrainer(a, examples, Options(dirA.Path, false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var first = () => new DpoTrainer(TinyModels.Create(Config), examples, Options(dirB.Path, false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 4) { cts.Cancel(); } }), cts.Token);
        await first.Should().ThrowAsync<OperationCanceledException>();
        var c = TinyModels.Create(Config, seed: 42);
        (await new DpoTrainer(c, examples, Options(dirB.Path, true)).TrainAsync()).ResumedFromStep.Should().Be(4);

        Metrics.Read(dirB.Path).Should().Equal(Metrics.Read(dirA.Path));
        foreach (var (name, parameter) in a.named_parameters())
        {
            parameter.eq(c.get_parameter(name)!).all().item<bool>().Should().BeTrue(name);
        }
    }

    [Fact]
    public void Missing_reference_log_probs_are_an_error()
    {
        var act = () => new DpoTrainer(TinyModels.Create(Config), DpoTrainer.Tokenize(Records, Tokenizer, 64), new DpoTrainingOptions { OutputDir = "unused" });
        act.Should().Throw<ArgumentException>().WithMessage("*no cached reference log-probs*");
    }
}
