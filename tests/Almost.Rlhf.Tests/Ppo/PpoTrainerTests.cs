using System.Text.Json;
using Almost.Checkpoints;
using Almost.Core.Tests.Tokenization;
using Almost.Models.Llama;
using Almost.Rlhf.Ppo;
using Almost.Rlhf.Training;
using Almost.Scoring;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests.Ppo;

public class PpoTrainerTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");

    private static LlamaConfig Config => TinyModels.Config(maxPositions: 64) with { VocabSize = 280, EosTokenIds = [TinyByteLevelBpe.EndOfText] };

    private static readonly string[] Prompts = Enumerable.Range(0, 8).Select(i => AlmostTranscript.FormatPrompt(i % 2 == 0 ? "Hello world" : "the in")).ToArray();

    /// <summary>The toy reward: the share of the response's characters that are lowercase ASCII letters.</summary>
    private sealed class LetterShareReward : IRewardModel
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<double>>(inputs.Select(i =>
            {
                var text = i.Response.Trim();
                return text.Length == 0 ? 0.0 : text.Count(c => c is >= 'a' and <= 'z') / (double)text.Length;
            }).ToArray());
    }

    private static (LlamaForCausalLM Policy, LlamaForCausalLM Reference, LlamaForSequenceClassification Critic) Models(long seed = 7) => (
        TinyModels.Create(Config, seed),
        TinyModels.Create(Config, seed),
        LlamaForSequenceClassification.Create(Config, new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = seed + 1 }));

    private static PpoTrainingOptions Options(string dir) => new()
    {
        OutputDir = dir, LearningRate = 3e-3, CriticLearningRate = 3e-3, WarmupSteps = 0, LrScheduler = LrSchedulerType.Constant,
        RolloutBatchSize = 8, MaxNewTokens = 8, PpoEpochs = 2, MiniBatchSize = 4, MaxSteps = 30, LoggingSteps = 1, SaveSteps = 0,
        KlCoefficient = 0.01, MissingEosPenalty = null, Seed = 3,
    };

    private static List<JsonElement> MetricLines(string dir) =>
        File.ReadAllLines(Path.Combine(dir, MetricsSink.FileName)).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public async Task Ppo_raises_the_mean_reward_of_a_toy_task_within_a_few_dozen_steps_and_starts_at_zero_kl()
    {
        using var dir = new TempFolder();
        var (policy, reference, critic) = Models();
        var trainer = new PpoTrainer(policy, reference, critic, Tokenizer, new LetterShareReward(), Prompts, Options(dir.Path));

        var result = await trainer.TrainAsync();

        var lines = MetricLines(dir.Path);
        lines.Should().HaveCount(30);
        lines[0].GetProperty("kl").GetDouble().Should().Be(0, "the policy equals the reference before the first update");
        var first = lines.Take(5).Average(l => l.GetProperty("reward").GetDouble());
        var last = lines.TakeLast(5).Average(l => l.GetProperty("reward").GetDouble());
        last.Should().BeGreaterThan(first + 0.15, $"PPO should raise the toy reward (first 5 steps {first:F3}, last 5 {last:F3})");
        lines[^1].GetProperty("kl").GetDouble().Should().BeGreaterThan(0);
        lines[^1].TryGetProperty("explained_variance", out _).Should().BeTrue();
        result.Metrics["stopped_early"].Should().Be(0);
        File.Exists(Path.Combine(dir.Path, "model.safetensors")).Should().BeTrue();
        File.Exists(Path.Combine(dir.Path, "critic", "model.safetensors")).Should().BeTrue();
    }

    [Fact]
    public async Task The_critic_free_group_estimator_trains_without_a_critic()
    {
        using var dir = new TempFolder();
        var (policy, reference, _) = Models();
        var options = Options(dir.Path) with
        {
            AdvantageEstimator = new GroupAdvantageEstimator(GroupBaseline.Rloo), SamplesPerPrompt = 4, RolloutBatchSize = 4, MaxSteps = 20,
        };
        var trainer = new PpoTrainer(policy, reference, critic: null, Tokenizer, new LetterShareReward(), Prompts, options);

        await trainer.TrainAsync();

        var lines = MetricLines(dir.Path);
        lines[0].TryGetProperty("value_loss", out _).Should().BeFalse();
        lines.TakeLast(4).Average(l => l.GetProperty("reward").GetDouble())
            .Should().BeGreaterThan(lines.Take(4).Average(l => l.GetProperty("reward").GetDouble()) + 0.1);
    }

    [Fact]
    public async Task Resume_after_an_interruption_equals_an_uninterrupted_run()
    {
        PpoTrainingOptions Short(string dir, bool resume) => Options(dir) with { MaxSteps = 6, SaveSteps = 2, ResumeFromCheckpoint = resume, KlTarget = 0.5 };

        using var dirA = new TempFolder();
        var (policyA, referenceA, criticA) = Models();
        await new PpoTrainer(policyA, referenceA, criticA, Tokenizer, new LetterShareReward(), Prompts, Short(dirA.Path, false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var (policyB, referenceB, criticB) = Models();
        var interrupted = () => new PpoTrainer(policyB, referenceB, criticB, Tokenizer, new LetterShareReward(), Prompts, Short(dirB.Path, false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 3) { cts.Cancel(); } }), cts.Token);
        await interrupted.Should().ThrowAsync<OperationCanceledException>();
        var (policyC, referenceC, criticC) = Models(seed: 99);       // other weights: the checkpoint must overwrite them
        var (_, referenceFresh, _) = Models();                         // the reference is the starting policy, not restored
        var resumed = await new PpoTrainer(policyC, referenceFresh, criticC, Tokenizer, new LetterShareReward(), Prompts, Short(dirB.Path, true)).TrainAsync();

        resumed.ResumedFromStep.Should().Be(3);
        var a = MetricLines(dirA.Path).Select(l => (l.GetProperty("reward").GetDouble(), l.GetProperty("kl").GetDouble(), l.GetProperty("kl_coef").GetDouble(), l.GetProperty("loss").GetDouble())).ToList();
        var b = MetricLines(dirB.Path).Select(l => (l.GetProperty("reward").GetDouble(), l.GetProperty("kl").GetDouble(), l.GetProperty("kl_coef").GetDouble(), l.GetProperty("loss").GetDouble())).ToList();
        b.Should().Equal(a, "rollouts, updates and the adaptive KL coefficient continue exactly");
        foreach (var (name, parameter) in policyA.named_parameters())
        {
            parameter.eq(policyC.get_parameter(name)!).all().item<bool>().Should().BeTrue($"policy {name} must be bitwise equal");
        }

        foreach (var (name, parameter) in criticA.named_parameters())
        {
            parameter.eq(criticC.get_parameter(name)!).all().item<bool>().Should().BeTrue($"critic {name} must be bitwise equal");
        }
    }

    [Fact]
    public async Task A_value_head_on_the_policy_trunk_raises_the_toy_reward_and_is_saved_beside_unchanged_policy_keys()
    {
        using var dir = new TempFolder();
        var (policy, reference, _) = Models();
        var expectedKeys = policy.state_dict().Keys.ToList();
        var trainer = new PpoTrainer(policy, reference, critic: null, Tokenizer, new LetterShareReward(), Prompts,
            Options(dir.Path) with { CriticMode = CriticMode.SharedTrunk });

        await trainer.TrainAsync();

        var lines = MetricLines(dir.Path);
        lines.Should().HaveCount(30);
        lines[0].GetProperty("kl").GetDouble().Should().Be(0);
        var first = lines.Take(5).Average(l => l.GetProperty("reward").GetDouble());
        var last = lines.TakeLast(5).Average(l => l.GetProperty("reward").GetDouble());
        last.Should().BeGreaterThan(first + 0.15, $"the shared-trunk critic should raise the toy reward as the separate one does (first 5 steps {first:F3}, last 5 {last:F3})");
        lines[^1].GetProperty("value_loss").GetDouble().Should().BeGreaterThan(0);
        lines[^1].TryGetProperty("explained_variance", out _).Should().BeTrue();

        Directory.Exists(Path.Combine(dir.Path, "critic")).Should().BeFalse("a shared trunk has no second model");
        HfCheckpoint.LoadStateDict(dir.Path).Keys.Should().BeEquivalentTo(expectedKeys, "the policy's model.safetensors keeps its Hugging Face keys");
        using var reloaded = LlamaForCausalLM.FromPretrained(dir.Path, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
        var head = HfCheckpoint.LoadFile(Path.Combine(dir.Path, PpoTrainer.ValueHeadFileName));
        head.Keys.Should().BeEquivalentTo(["v_head.summary.weight", "v_head.summary.bias"]);
        head["v_head.summary.weight"].shape.Should().Equal([1L, Config.HiddenSize]);
        head["v_head.summary.bias"].shape.Should().Equal([1L]);
    }

    [Fact]
    public async Task Shared_trunk_resume_after_an_interruption_equals_an_uninterrupted_run_bitwise()
    {
        PpoTrainingOptions Short(string dir, bool resume) => Options(dir) with
        {
            CriticMode = CriticMode.SharedTrunk, MaxSteps = 6, SaveSteps = 2, ResumeFromCheckpoint = resume, KlTarget = 0.5,
        };

        using var dirA = new TempFolder();
        var policyA = TinyModels.Create(Config);
        await new PpoTrainer(policyA, TinyModels.Create(Config), null, Tokenizer, new LetterShareReward(), Prompts, Short(dirA.Path, false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var interrupted = () => new PpoTrainer(TinyModels.Create(Config), TinyModels.Create(Config), null, Tokenizer, new LetterShareReward(), Prompts, Short(dirB.Path, false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 3) { cts.Cancel(); } }), cts.Token);
        await interrupted.Should().ThrowAsync<OperationCanceledException>();
        var policyC = TinyModels.Create(Config, seed: 99);        // other weights: the checkpoint must overwrite them
        var resumed = await new PpoTrainer(policyC, TinyModels.Create(Config), null, Tokenizer, new LetterShareReward(), Prompts, Short(dirB.Path, true)).TrainAsync();

        resumed.ResumedFromStep.Should().Be(3);
        static List<string> Rows(string dir) => MetricLines(dir).Select(l => string.Join(",", new[] { "reward", "kl", "kl_coef", "loss", "value_loss" }
            .Select(k => l.GetProperty(k).GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        Rows(dirB.Path).Should().Equal(Rows(dirA.Path), "rollouts, values, updates and the KL coefficient continue exactly");
        foreach (var (name, parameter) in policyA.named_parameters())
        {
            parameter.eq(policyC.get_parameter(name)!).all().item<bool>().Should().BeTrue($"policy {name} must be bitwise equal");
        }

        File.ReadAllBytes(Path.Combine(dirB.Path, PpoTrainer.ValueHeadFileName))
            .Should().Equal(File.ReadAllBytes(Path.Combine(dirA.Path, PpoTrainer.ValueHeadFileName)), "the value head continues exactly");
        var checkpointA = TrainingCheckpoints.FolderFor(dirA.Path, 4);
        var checkpointB = TrainingCheckpoints.FolderFor(dirB.Path, 4);
        foreach (var file in new[] { "optimizer.bin", "value_head_optimizer.bin", PpoTrainer.ValueHeadFileName, "model.safetensors", "kl_controller.json" })
        {
            File.ReadAllBytes(Path.Combine(checkpointB, file)).Should().Equal(File.ReadAllBytes(Path.Combine(checkpointA, file)),
                $"{file} of the checkpoint written after resuming equals the uninterrupted run's");
        }

        File.Exists(Path.Combine(checkpointA, "critic_optimizer.bin")).Should().BeFalse();
        Directory.Exists(Path.Combine(checkpointA, "critic")).Should().BeFalse();
    }

    [Fact]
    public void A_shared_trunk_trains_one_trunk_and_a_head_where_a_separate_critic_trains_two_trunks()
    {
        var (policy, reference, critic) = Models();
        long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
        long policyCount = Count(policy), trunkCount = Count(critic.Model);

        var shared = new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts,
            Options("unused") with { CriticMode = CriticMode.SharedTrunk });
        var separate = new PpoTrainer(policy, reference, critic, Tokenizer, new LetterShareReward(), Prompts, Options("unused"));

        shared.TrainableParameters.Should().Be(policyCount + Config.HiddenSize + 1, "the policy plus a Linear(hidden, 1) with bias");
        separate.TrainableParameters.Should().Be(policyCount + trunkCount + Config.HiddenSize, "the policy plus a second trunk and its score head");
        (separate.TrainableParameters - shared.TrainableParameters).Should().Be(trunkCount - 1);
    }

    [Fact]
    public void Log_probs_of_a_left_padded_row_equal_those_of_the_row_alone()
    {
        using var dir = new TempFolder();
        var (policy, reference, critic) = Models();
        var trainer = new PpoTrainer(policy, reference, critic, Tokenizer, new LetterShareReward(), Prompts, Options(dir.Path));
        int[] shortPrompt = [10, 11, 12], longPrompt = [20, 21, 22, 23, 24, 25], response = [30, 31, 32, 33];
        const int pad = 0;

        (Tensor Ids, Tensor Mask, Tensor Positions) Batch(params int[][] prompts)
        {
            var (ids, mask, positions, responseMask) = PpoTrainer.BuildSequences(prompts, prompts.Select(_ => response).ToArray(), pad, CPU);
            responseMask.sum().item<float>().Should().Be(prompts.Length * response.Length);
            return (ids, mask, positions);
        }

        using var noGrad = no_grad();
        var (ids2, mask2, pos2) = Batch(longPrompt, shortPrompt);
        var padded = trainer.ResponseLogProbs(policy, ids2, mask2, pos2, longPrompt.Length, response.Length, withEntropy: false).LogProbs[1];
        var (ids1, mask1, pos1) = Batch(shortPrompt);
        var alone = trainer.ResponseLogProbs(policy, ids1, mask1, pos1, shortPrompt.Length, response.Length, withEntropy: false).LogProbs[0];
        allclose(padded, alone, rtol: 1e-5, atol: 1e-5).Should().BeTrue("explicit positions make left padding invisible");

        pos2[1].data<long>().ToArray().Should().Equal([0L, 0L, 0L, 0L, 1L, 2L, 3L, 4L, 5L, 6L],
            "a left-padded row's real tokens count from 0, as in the row alone");
    }

    [Fact]
    public void Bad_setups_are_refused_with_the_reason()
    {
        var (policy, reference, critic) = Models();
        var options = Options("unused");
        var noCritic = () => new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts, options);
        noCritic.Should().Throw<ArgumentException>().WithMessage("*needs a critic*");
        var self = () => new PpoTrainer(policy, policy, critic, Tokenizer, new LetterShareReward(), Prompts, options);
        self.Should().Throw<ArgumentException>().WithMessage("*separate frozen copy*");
        var group = () => new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts,
            options with { AdvantageEstimator = new GroupAdvantageEstimator() });
        group.Should().Throw<ArgumentException>().WithMessage("*SamplesPerPrompt must be >= 2*");
        var minibatch = () => new PpoTrainer(policy, reference, critic, Tokenizer, new LetterShareReward(), Prompts, options with { MiniBatchSize = 3 });
        minibatch.Should().Throw<ArgumentException>().WithMessage("*MiniBatchSize must divide the rollout's 8 sequences*");
        var sharedWithCritic = () => new PpoTrainer(policy, reference, critic, Tokenizer, new LetterShareReward(), Prompts,
            options with { CriticMode = CriticMode.SharedTrunk });
        sharedWithCritic.Should().Throw<ArgumentException>().WithMessage("*SharedTrunk*pass critic: null*");
        var gaeWithoutValues = () => new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts, options with { CriticMode = CriticMode.None });
        gaeWithoutValues.Should().Throw<ArgumentException>().WithMessage("*CriticMode must be Separate or SharedTrunk*GaeAdvantageEstimator needs values*");
        var groupWithHead = () => new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts,
            options with { AdvantageEstimator = new GroupAdvantageEstimator(), SamplesPerPrompt = 2, CriticMode = CriticMode.SharedTrunk });
        groupWithHead.Should().Throw<ArgumentException>().WithMessage("*CriticMode must be None*");
        var negative = () => new PpoTrainer(policy, reference, null, Tokenizer, new LetterShareReward(), Prompts,
            options with { CriticMode = CriticMode.SharedTrunk, ValueLossCoefficient = -1 });
        negative.Should().Throw<ArgumentException>().WithMessage("*ValueLossCoefficient must be finite and >= 0*");
        options.CriticMode.Should().Be(CriticMode.Separate, "GAE defaults to a separate critic");
        (options with { AdvantageEstimator = new GroupAdvantageEstimator() }).CriticMode.Should().Be(CriticMode.None, "group estimators default to none");
    }
}
