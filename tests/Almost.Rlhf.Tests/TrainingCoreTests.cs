using System.Text.Json;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Rlhf.Tests;

public class TrainingCoreTests
{
    /// <summary>Fits y = 3x with one weight; reports the mean absolute error and the share of points within 0.5.</summary>
    private sealed class LineObjective : ITrainingObjective<LineObjective.Batch>
    {
        private readonly nn.Module<Tensor, Tensor> _model;
        private readonly float[] _xs = Enumerable.Range(0, 12).Select(i => (i - 6) / 3f).ToArray();

        public LineObjective()
        {
            _model = nn.Linear(1, 1, hasBias: false);
            using var noGrad = no_grad();
            _model.parameters().First().fill_(0.0);
        }

        public sealed class Batch(Tensor x, Tensor y) : ITrainingBatch
        {
            public Tensor X { get; } = x;

            public Tensor Y { get; } = y;

            public long LossUnits => X.shape[0];

            public long InputTokens => X.shape[0];

            public void Dispose()
            {
                X.Dispose();
                Y.Dispose();
            }
        }

        public nn.Module Model => _model;

        public int TrainExampleCount => _xs.Length;

        public bool HasEvaluation => true;

        public Batch CreateBatch(IReadOnlyList<int> exampleIndices)
        {
            var x = tensor(exampleIndices.Select(i => _xs[i]).ToArray()).unsqueeze(1);
            return new Batch(x, x * 3);
        }

        public ObjectiveOutput ComputeLoss(Batch batch)
        {
            var error = _model.forward(batch.X) - batch.Y;
            var abs = error.abs().detach();
            return new ObjectiveOutput(error.square().sum(), new Dictionary<string, MetricSum>
            {
                ["abs_error"] = new(abs.sum(), batch.LossUnits),
                ["within_half"] = new(abs.lt(0.5).to(ScalarType.Float32).sum(), batch.LossUnits),
            });
        }

        public IReadOnlyDictionary<string, double> Evaluate(CancellationToken cancellationToken)
        {
            using var batch = CreateBatch(Enumerable.Range(0, _xs.Length).ToArray());
            var error = (_model.forward(batch.X) - batch.Y).abs().mean().item<float>();
            return new Dictionary<string, double> { ["loss"] = error * error, ["abs_error"] = error };
        }

        public void SaveModel(string folder) => File.WriteAllText(Path.Combine(folder, "w.txt"), Weight.ToString("R"));

        public void LoadModel(string folder)
        {
            using var noGrad = no_grad();
            _model.parameters().First().fill_(float.Parse(File.ReadAllText(Path.Combine(folder, "w.txt"))));
        }

        public float Weight => _model.parameters().First().item<float>();
    }

    [Fact]
    public void Objective_metrics_are_averaged_per_unit_and_written_under_their_names_with_eval_metrics()
    {
        using var dir = new TempFolder();
        var objective = new LineObjective();
        var reports = new List<TrainingProgress>();
        var loop = new SupervisedTrainingLoop<LineObjective.Batch>(objective, new TrainingOptions
        {
            OutputDir = dir.Path, LearningRate = 0.2, AdamBeta2 = 0.9, MaxGradNorm = 0, PerDeviceBatchSize = 4, MaxSteps = 60, LoggingSteps = 6, EvalSteps = 30,
            SaveSteps = 0, WarmupSteps = 0,
        }, NullLogger.Instance);

        var result = loop.Run(new SyncProgress(reports.Add), CancellationToken.None);

        objective.Weight.Should().BeApproximately(3f, 0.25f);
        reports.Should().HaveCount(10);
        reports[0].Metrics.Keys.Should().BeEquivalentTo("abs_error", "within_half");
        reports[0].Metrics["abs_error"].Should().BeGreaterThan(reports[^1].Metrics["abs_error"]);
        reports[^1].Metrics["within_half"].Should().Be(1.0, "every point is fitted within 0.5 at the end");
        reports.Where(r => r.EvalMetrics is not null).Select(r => r.Step).Should().Equal(30L, 60L);
        result.EvalMetrics!["abs_error"].Should().BeLessThan(0.25);
        result.EvalLoss.Should().Be(result.EvalMetrics["loss"]);

        var lines = File.ReadAllLines(Path.Combine(dir.Path, MetricsSink.FileName)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        lines.Should().HaveCount(10);
        lines[4].GetProperty("step").GetInt64().Should().Be(30);
        lines[4].GetProperty("eval_abs_error").GetDouble().Should().Be(reports[4].EvalMetrics!["abs_error"]);
        lines[0].GetProperty("abs_error").GetDouble().Should().Be(reports[0].Metrics["abs_error"]);
        lines[0].TryGetProperty("eval_loss", out _).Should().BeFalse();
    }

    [Theory]
    [InlineData(3, 2)]   // checkpoint interval not a multiple of the logging interval
    [InlineData(5, 3)]
    public async Task Resume_logs_the_same_losses_for_any_checkpoint_and_logging_intervals(int saveSteps, int loggingSteps)
    {
        var data = ToyData.VariedLengths(12);
        CausalLmTrainingOptions Options(string dir, bool resume) => new()
        {
            OutputDir = dir, LearningRate = 5e-3, PerDeviceBatchSize = 2, MaxSteps = 12, LoggingSteps = loggingSteps,
            SaveSteps = saveSteps, WarmupSteps = 2, ResumeFromCheckpoint = resume,
        };

        using var dirA = new TempFolder();
        await new CausalLmTrainer(TinyModels.Create(), data, Options(dirA.Path, false)).TrainAsync();

        using var dirB = new TempFolder();
        using var cts = new CancellationTokenSource();
        var run = () => new CausalLmTrainer(TinyModels.Create(), data, Options(dirB.Path, false))
            .TrainAsync(new SyncProgress(p => { if (p.Step >= 7) { cts.Cancel(); } }), cts.Token);
        await run.Should().ThrowAsync<OperationCanceledException>();
        var resumed = await new CausalLmTrainer(TinyModels.Create(seed: 5), data, Options(dirB.Path, true)).TrainAsync();

        resumed.ResumedFromStep.Should().NotBeNull();
        Metrics.Read(dirB.Path).Should().Equal(Metrics.Read(dirA.Path), "the partial logging interval is part of the checkpoint");
    }

    [Fact]
    public async Task A_changed_learning_rate_is_refused_on_resume_unless_allowed()
    {
        using var dir = new TempFolder();
        var data = ToyData.VariedLengths(6);
        CausalLmTrainingOptions Options(double lr, bool resume, bool allow = false) => new()
        {
            OutputDir = dir.Path, LearningRate = lr, PerDeviceBatchSize = 2, MaxSteps = 6, SaveSteps = 3, LoggingSteps = 1,
            ResumeFromCheckpoint = resume, AllowChangedSettingsOnResume = allow,
        };
        using var cts = new CancellationTokenSource();
        var first = () => new CausalLmTrainer(TinyModels.Create(), data, Options(1e-3, false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 4) { cts.Cancel(); } }), cts.Token);
        await first.Should().ThrowAsync<OperationCanceledException>();

        var changed = () => new CausalLmTrainer(TinyModels.Create(), data, Options(2e-3, true)).TrainAsync();
        await changed.Should().ThrowAsync<InvalidOperationException>()
            .WithMessage("*optimizer.learning_rate = 0.001, but this run has 0.002*AllowChangedSettingsOnResume*");

        var allowed = await new CausalLmTrainer(TinyModels.Create(), data, Options(2e-3, true, allow: true)).TrainAsync();
        allowed.ResumedFromStep.Should().Be(4);
    }

    [Theory]
    [InlineData("optimizer.bin")]
    [InlineData("model.safetensors")]
    [InlineData("config.json")]
    [InlineData("trainer_state.json")]
    [InlineData("log_interval.json")]
    public async Task A_damaged_newest_checkpoint_is_skipped_and_the_resume_falls_back_to_the_older_one(string truncated)
    {
        using var dir = new TempFolder();
        var data = ToyData.VariedLengths(6);
        CausalLmTrainingOptions Options(bool resume) => new()
        {
            OutputDir = dir.Path, PerDeviceBatchSize = 2, MaxSteps = 8, SaveSteps = 2, LoggingSteps = 1, ResumeFromCheckpoint = resume,
        };
        using var cts = new CancellationTokenSource();
        var first = () => new CausalLmTrainer(TinyModels.Create(), data, Options(false))
            .TrainAsync(new SyncProgress(p => { if (p.Step == 6) { cts.Cancel(); } }), cts.Token);
        await first.Should().ThrowAsync<OperationCanceledException>();
        var newest = TrainingCheckpoints.FindLatest(dir.Path)!;
        Path.GetFileName(newest).Should().Be("checkpoint-6");
        var damaged = Path.Combine(newest, truncated);
        var bytes = File.ReadAllBytes(damaged);
        File.WriteAllBytes(damaged, bytes[..(bytes.Length / 2)]);

        var logs = new ListLogger();
        var result = await new CausalLmTrainer(TinyModels.Create(), data, Options(true), logger: logs).TrainAsync();

        result.ResumedFromStep.Should().Be(4);
        result.GlobalStep.Should().Be(8);
        logs.Lines.Should().Contain(l => l.Contains("Skipping damaged checkpoint") && l.Contains(newest) && l.Contains(truncated));
    }

    [Fact]
    public void A_kill_during_old_checkpoint_cleanup_leaves_nothing_that_looks_complete()
    {
        using var dir = new TempFolder();
        foreach (var step in new[] { 2L, 4L, 6L })
        {
            TrainingCheckpoints.Save(dir.Path, new TrainerState { GlobalStep = step, TotalSteps = 6, Seed = 1 }, folder =>
            {
                File.WriteAllText(Path.Combine(folder, "model.safetensors"), "weights");
                File.WriteAllText(Path.Combine(folder, "optimizer.bin"), "moments");
            });
        }

        // The "kill": the cleanup stops after its first step, wherever that step is.
        string? stopped = null;
        TrainingCheckpoints.BeforeRecursiveDelete = folder => { if (folder.StartsWith(dir.Path, StringComparison.Ordinal)) { stopped = folder; throw new IOException("killed"); } };
        try
        {
            var prune = () => TrainingCheckpoints.Prune(dir.Path, limit: 1);
            prune.Should().Throw<IOException>();
        }
        finally
        {
            TrainingCheckpoints.BeforeRecursiveDelete = null;
        }

        stopped.Should().NotBeNull();
        File.Exists(Path.Combine(stopped!, TrainingCheckpoints.StateFileName)).Should().BeTrue("the kill came before any file was deleted");
        TrainingCheckpoints.ListComplete(dir.Path).Select(c => c.Step).Should().Equal([4L, 6L], "the half-deleted checkpoint-2 no longer counts");
        TrainingCheckpoints.DeleteIncomplete(dir.Path);
        Directory.Exists(stopped).Should().BeFalse("the next resume removes it");
    }

    [Fact]
    public void Checkpoint_parts_restore_generators_and_json_state_exactly()
    {
        using var dir = new TempFolder();
        using var generator = new Generator(123);
        var counter = new Dictionary<string, long> { ["prompt_position"] = 17 };
        var manager = new CheckpointManager(dir.Path, NullLogger.Instance);
        manager.Register("rng", CheckpointParts.Generator("rng.bin", generator));
        manager.Register("counters", CheckpointParts.Json("counters.json", () => counter, saved => counter = saved));
        var register = () => manager.Register("rng", CheckpointParts.Generator("x.bin", generator));
        register.Should().Throw<ArgumentException>().WithMessage("*'rng' is already registered*");

        using (var warm = rand(new long[] { 5 }, generator: generator))
        {
        }

        manager.Save(new TrainerState { GlobalStep = 1, TotalSteps = 2, Seed = 0 }, keepLimit: null);
        using var expected = rand(new long[] { 8 }, generator: generator);
        using (var drift = rand(new long[] { 100 }, generator: generator))
        {
        }

        counter = new Dictionary<string, long> { ["prompt_position"] = 99 };

        var resumed = manager.TryResume((_, _) => { });

        resumed.Should().NotBeNull();
        resumed!.Value.State.Parts.Should().Equal("rng", "counters");
        counter["prompt_position"].Should().Be(17);
        using var again = rand(new long[] { 8 }, generator: generator);
        again.eq(expected).all().item<bool>().Should().BeTrue("the generator continues exactly where it was saved");
    }
}
