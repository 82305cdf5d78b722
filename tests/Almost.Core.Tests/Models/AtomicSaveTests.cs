using Almost.Checkpoints;
using Almost.IO;
using Almost.Models.Llama;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

/// <summary>SavePretrained replaces config.json and the weights together, whatever stops it and wherever.</summary>
public sealed class AtomicSaveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static float[] Logits(LlamaForCausalLM model)
    {
        using var ids = tensor(new long[] { 1, 5, 9, 3 }).reshape(1, 4);
        using var noGrad = no_grad();
        using var logits = model.Logits(ids);
        return logits.data<float>().ToArray();
    }

    private void Crash(string stage, string file) => FolderTransaction.FaultInjection = (s, path) =>
    {
        if (s == stage && path == Path.Combine(_dir, file))
        {
            throw new IOException($"simulated crash after {stage} {file}");
        }
    };

    private string[] Temporaries() => Directory.GetFiles(_dir, "*.tmp");

    [Theory]
    [InlineData("written", "model.safetensors")]   // new weights on disk, config.json not yet
    [InlineData("written", "config.json")]         // everything on disk, nothing renamed
    public void A_save_that_fails_before_its_commit_leaves_the_old_model_loadable_and_no_temporaries(string stage, string file)
    {
        using var old = TinyConfigs.Create(TinyConfigs.Llama(), seed: 1);
        old.SavePretrained(_dir);
        using var bigger = TinyConfigs.Create(TinyConfigs.Llama() with { NumHiddenLayers = 3 }, seed: 2);

        Crash(stage, file);
        try
        {
            var save = () => bigger.SavePretrained(_dir);
            save.Should().Throw<IOException>().WithMessage("simulated crash*");
        }
        finally
        {
            FolderTransaction.FaultInjection = null;
        }

        Temporaries().Should().BeEmpty();
        using var loaded = LlamaForCausalLM.FromPretrained(_dir, new ModelOptions { Device = "cpu" });
        loaded.Config.NumHiddenLayers.Should().Be(2, "config.json and the weights are both the old ones");
        Logits(loaded).Should().Equal(Logits(old));
    }

    [Theory]
    [InlineData("model.safetensors")]   // killed after the weights were renamed, before config.json
    [InlineData("config.json")]
    public void A_save_killed_during_its_commit_is_finished_by_the_next_load(string renamed)
    {
        using var old = TinyConfigs.Create(TinyConfigs.Llama(), seed: 1);
        old.SavePretrained(_dir);
        using var bigger = TinyConfigs.Create(TinyConfigs.Llama() with { NumHiddenLayers = 3 }, seed: 2);

        Crash("renamed", renamed);
        try
        {
            FluentActions.Invoking(() => bigger.SavePretrained(_dir)).Should().Throw<IOException>();
        }
        finally
        {
            FolderTransaction.FaultInjection = null;
        }

        File.Exists(Path.Combine(_dir, FolderTransaction.JournalFileName)).Should().BeTrue("the commit had begun");
        using var loaded = LlamaForCausalLM.FromPretrained(_dir, new ModelOptions { Device = "cpu" });
        loaded.Config.NumHiddenLayers.Should().Be(3);
        Logits(loaded).Should().Equal(Logits(bigger));
        File.Exists(Path.Combine(_dir, FolderTransaction.JournalFileName)).Should().BeFalse();
        Temporaries().Should().BeEmpty();
    }

    [Fact]
    public void Temporaries_of_an_interrupted_save_are_removed_by_the_next_save_and_stale_ones_by_a_load()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama(), seed: 1);
        model.SavePretrained(_dir);
        var stale = Path.Combine(_dir, $".model.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale, "half a shard");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
        using (LlamaForCausalLM.FromPretrained(_dir, new ModelOptions { Device = "cpu" }))
        {
        }

        File.Exists(stale).Should().BeFalse("a load removes temporaries no save is still writing");
        var recent = Path.Combine(_dir, $".config.json.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(recent, "{");
        model.SavePretrained(_dir);
        Temporaries().Should().BeEmpty("a save owns the folder and removes every leftover");
        Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(["config.json", HfCheckpoint.WeightsFileName]);
    }

    [Fact]
    public void Switching_from_sharded_to_single_file_removes_the_old_shards_in_the_same_commit()
    {
        using var model = TinyConfigs.Create(TinyConfigs.Llama(), seed: 1);
        model.SavePretrained(_dir, maxShardBytes: 4000);
        Directory.GetFiles(_dir, "model-*").Should().NotBeEmpty();
        model.SavePretrained(_dir);
        Directory.GetFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(["config.json", HfCheckpoint.WeightsFileName]);
    }
}
