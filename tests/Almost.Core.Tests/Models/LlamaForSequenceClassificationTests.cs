using System.Text.Json.Nodes;
using Almost.Checkpoints;
using Almost.Models.Llama;
using Almost.Scoring;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Models;

public sealed class LlamaForSequenceClassificationTests : IDisposable
{
    private static readonly long[][] Rows = [[5, 9, 33, 4, 17, 2, 50], [7, 3], [11, 12, 13, 14]];
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-rm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelOptions Cpu(long seed = 3) => new() { Device = "cpu", DType = ScalarType.Float32, Seed = seed };

    private static LlamaForSequenceClassification Tiny(string modelType = "llama") =>
        LlamaForSequenceClassification.Create(TinyConfigs.Llama(modelType: modelType), Cpu());

    /// <summary>Each row scored on its own, without padding.</summary>
    private static float[] Alone(LlamaForSequenceClassification rm) => Rows.Select(r =>
    {
        using var ids = tensor(r).unsqueeze(0);
        using var s = rm.forward(ids);
        return s.item<float>();
    }).ToArray();

    /// <summary>The rows as one batch, padded on the left or the right with <paramref name="pad"/>.</summary>
    private static float[] Batched(LlamaForSequenceClassification rm, bool left, long pad, long[][]? rows = null)
    {
        rows ??= Rows;
        var width = rows.Max(r => r.Length);
        var ids = rows.SelectMany(r => left ? Enumerable.Repeat(pad, width - r.Length).Concat(r) : r.Concat(Enumerable.Repeat(pad, width - r.Length))).ToArray();
        var mask = rows.SelectMany(r =>
        {
            var real = Enumerable.Repeat(1L, r.Length);
            var padding = Enumerable.Repeat(0L, width - r.Length);
            return left ? padding.Concat(real) : real.Concat(padding);
        }).ToArray();
        using var input = tensor(ids).reshape(rows.Length, width);
        using var attention = tensor(mask).reshape(rows.Length, width);
        using var scores = rm.forward(input, attention);
        return scores.data<float>().ToArray();
    }

    [Fact]
    public void Score_is_read_at_the_last_real_token_with_left_and_right_padding()
    {
        using var rm = Tiny();
        var alone = Alone(rm);

        Batched(rm, left: true, pad: 0).Should().Equal(alone, (a, b) => Math.Abs(a - b) < 1e-5f);
        Batched(rm, left: false, pad: 0).Should().Equal(alone, (a, b) => Math.Abs(a - b) < 1e-5f);

        // The pooled score is the per-position score at the last token.
        using var ids = tensor(Rows[0]).unsqueeze(0);
        using var perPosition = rm.TokenScores(ids);
        perPosition.shape.Should().Equal(1, Rows[0].Length);
        perPosition[0, -1].item<float>().Should().BeApproximately(alone[0], 1e-6f);
        alone.Distinct().Should().HaveCount(3, "different sequences get different scores, so a wrong pooled token would show");
    }

    [Fact]
    public void Pad_ids_and_batch_composition_change_no_score()
    {
        using var rm = Tiny();
        var reference = Batched(rm, left: true, pad: 0);

        Batched(rm, left: true, pad: 63).Should().Equal(reference, (a, b) => Math.Abs(a - b) < 1e-5f);
        Batched(rm, left: false, pad: 41).Should().Equal(reference, (a, b) => Math.Abs(a - b) < 1e-5f);

        // The same rows next to a much longer neighbour (more padding) and in another order.
        long[][] other = [Rows[2], [.. Enumerable.Range(1, 30).Select(i => (long)i)], Rows[0], Rows[1]];
        var mixed = Batched(rm, left: true, pad: 0, other);
        new[] { mixed[2], mixed[3], mixed[0] }.Should().Equal(reference, (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void Last_real_token_is_the_token_transformers_pools_at()
    {
        // transformers >= 4.48: the last position whose id is not pad_token_id; with pad ids only in padding, both
        // paddings give the same position as the mask rule.
        const long pad = 0;
        long[][] rows = [[5, 9, 33], [7], [11, 12, 13, 14, 15]];
        foreach (var left in new[] { true, false })
        {
            var width = rows.Max(r => r.Length);
            var ids = rows.Select(r => left ? Enumerable.Repeat(pad, width - r.Length).Concat(r).ToArray() : r.Concat(Enumerable.Repeat(pad, width - r.Length)).ToArray()).ToArray();
            using var input = tensor(ids.SelectMany(x => x).ToArray()).reshape(rows.Length, width);
            using var mask = input.ne(pad).to(ScalarType.Int64);
            using var ours = LlamaForSequenceClassification.LastRealTokenIndex(input, mask);
            var transformers = ids.Select(r => (long)Array.FindLastIndex(r, id => id != pad)).ToArray();
            ours.data<long>().ToArray().Should().Equal(transformers);
        }
    }

    [Theory]
    [InlineData("llama", "LlamaForSequenceClassification")]
    [InlineData("qwen2", "Qwen2ForSequenceClassification")]
    [InlineData("mistral", "MistralForSequenceClassification")]
    public void Save_then_load_gives_identical_scores_with_the_hf_reward_model_names(string modelType, string architecture)
    {
        using var rm = Tiny(modelType);
        rm.Normalization = new RewardNormalization(0.25, 1.5);
        rm.SavePretrained(_dir);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "config.json")))!.AsObject();
        json["architectures"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal(architecture);
        json["num_labels"]!.GetValue<int>().Should().Be(1);
        json["id2label"]!.AsObject().Should().ContainSingle();
        json["pad_token_id"]!.GetValue<int>().Should().Be(0);
        json["mean"]!.GetValue<double>().Should().Be(0.25);
        json["std"]!.GetValue<double>().Should().Be(1.5);
        var names = SafetensorsFile.ReadHeader(Path.Combine(_dir, "model.safetensors")).Tensors.Select(t => t.Name).ToList();
        names.Should().Contain("score.weight").And.Contain("model.embed_tokens.weight").And.Contain("model.norm.weight");
        names.Should().OnlyContain(n => n == "score.weight" || n.StartsWith("model.", StringComparison.Ordinal));
        SafetensorsFile.ReadHeader(Path.Combine(_dir, "model.safetensors")).Tensors.Single(t => t.Name == "score.weight").Shape.Should().Equal(1, 32);

        using var loaded = LlamaForSequenceClassification.FromPretrained(_dir, Cpu());
        loaded.Normalization.Should().Be(new RewardNormalization(0.25, 1.5));
        Batched(loaded, left: true, pad: 0).Should().Equal(Batched(rm, left: true, pad: 0));
    }

    [Fact]
    public void A_config_as_transformers_writes_it_loads()
    {
        // transformers' save_pretrained writes id2label / label2id (not num_labels), its version, problem_type and
        // OpenRLHF's normalize_reward; none of that may stop the load.
        using var rm = Tiny();
        rm.SavePretrained(_dir);
        var path = Path.Combine(_dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json.Remove("num_labels");
        json["transformers_version"] = "4.57.1";
        json["problem_type"] = null;
        json["normalize_reward"] = true;
        json["mean"] = -0.5;
        json["std"] = 3;
        File.WriteAllText(path, json.ToJsonString());

        using var loaded = LlamaForSequenceClassification.FromPretrained(_dir, Cpu());

        loaded.Normalization.Should().Be(new RewardNormalization(-0.5, 3));
        Batched(loaded, left: true, pad: 0).Should().Equal(Batched(rm, left: true, pad: 0));
    }

    [Fact]
    public void A_pad_id_is_always_saved_because_transformers_pools_with_it()
    {
        var config = TinyConfigs.Llama() with { PadTokenId = null };
        using var rm = LlamaForSequenceClassification.Create(config, Cpu());
        rm.ConfigJson()["pad_token_id"]!.GetValue<int>().Should().Be(2, "no pad id: the first EOS id, as everywhere in the SDK");
        rm.ConfigJson().ContainsKey("mean").Should().BeFalse("no statistics until a trainer sets them");
    }

    [Fact]
    public void From_a_causal_lm_checkpoint_the_trunk_is_loaded_and_lm_head_ignored()
    {
        using var lm = TinyConfigs.Create(TinyConfigs.Llama(), seed: 11);
        lm.SavePretrained(_dir);

        using var rm = LlamaForSequenceClassification.FromCausalLm(_dir, Cpu(seed: 5));
        using var again = LlamaForSequenceClassification.FromCausalLm(_dir, Cpu(seed: 5));
        using var otherHead = LlamaForSequenceClassification.FromCausalLm(_dir, Cpu(seed: 6));
        using var inMemory = LlamaForSequenceClassification.FromCausalLm(lm, seed: 5);

        using var ids = tensor(Rows[0]).unsqueeze(0);
        using var lmHidden = lm.HiddenStates(ids);
        using var rmHidden = rm.Model.forward(ids);
        rmHidden.eq(lmHidden).all().item<bool>().Should().BeTrue("the trunk is the causal LM's");
        Alone(again).Should().Equal(Alone(rm), "same seed, same head");
        Alone(inMemory).Should().Equal(Alone(rm), "folder and in-memory initialisation agree");
        Alone(otherHead).Should().NotEqual(Alone(rm));

        var head = rm.state_dict()["score.weight"];
        var std = head.std().item<float>();
        std.Should().BeInRange(0.5f / 33, 2f / 33, "the head is N(0, 1/(hidden+1)) with hidden 32");
    }

    [Theory]
    [InlineData("hf-llama")]
    [InlineData("hf-qwen2")]
    public void Causal_lm_checkpoints_written_by_transformers_initialise_a_reward_model(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "transformers-5.17", name);
        using var lm = LlamaForCausalLM.FromPretrained(folder, Cpu());
        using var rm = LlamaForSequenceClassification.FromCausalLm(folder, Cpu());
        using var ids = tensor(new long[] { 1, 2, 3, 4 }).unsqueeze(0);
        using var a = lm.HiddenStates(ids);
        using var b = rm.Model.forward(ids);
        a.eq(b).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Loading_a_causal_lm_as_a_reward_model_says_to_initialise_one()
    {
        using var lm = TinyConfigs.Create(TinyConfigs.Llama());
        lm.SavePretrained(_dir);

        var act = () => LlamaForSequenceClassification.FromPretrained(_dir, Cpu());

        act.Should().Throw<CheckpointException>().WithMessage("*score.weight*FromCausalLm*");
    }

    [Fact]
    public void A_config_with_two_labels_or_half_the_statistics_is_rejected()
    {
        using var rm = Tiny();
        rm.SavePretrained(_dir);
        var path = Path.Combine(_dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();

        json["num_labels"] = 2;
        File.WriteAllText(path, json.ToJsonString());
        var twoLabels = () => LlamaForSequenceClassification.FromPretrained(_dir, Cpu());
        twoLabels.Should().Throw<InvalidDataException>().WithMessage("*2 labels*exactly 1*");

        json["num_labels"] = 1;
        json["mean"] = 0.5;
        File.WriteAllText(path, json.ToJsonString());
        var halfStats = () => LlamaForSequenceClassification.FromPretrained(_dir, Cpu());
        halfStats.Should().Throw<InvalidDataException>().WithMessage("*'mean' without 'std'*");

        json["std"] = 0;
        File.WriteAllText(path, json.ToJsonString());
        var zeroStd = () => LlamaForSequenceClassification.FromPretrained(_dir, Cpu());
        zeroStd.Should().Throw<InvalidDataException>().WithMessage("*'std' is 0*");
    }
}
