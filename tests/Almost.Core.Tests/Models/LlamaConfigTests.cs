using System.Text.Json.Nodes;
using Almost.Models.Llama;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Models;

public sealed class LlamaConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("almost-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), json);
        return _dir;
    }

    // Shaped like TinyLlama-1.1B's config.json.
    private const string TinyLlamaLike = """
        {
          "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "eos_token_id": 2,
          "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632,
          "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22,
          "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
          "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.35.0", "use_cache": true, "vocab_size": 32000
        }
        """;

    [Fact]
    public void Reads_a_TinyLlama_style_config()
    {
        var c = LlamaConfig.Load(Write(TinyLlamaLike));
        c.ModelType.Should().Be("llama");
        c.HiddenSize.Should().Be(2048);
        c.KeyValueHeads.Should().Be(4);
        c.HeadDimension.Should().Be(64);
        c.RmsNormEps.Should().Be(1e-5);
        c.EosTokenIds.Should().Equal(2);
        c.TorchDtype.Should().Be("bfloat16");
        c.ParameterCount.Should().Be(1_100_048_384L);
    }

    [Fact]
    public void Reads_qwen2_defaults_list_eos_and_llama3_rope_scaling()
    {
        var c = LlamaConfig.Load(Write("""
            {"model_type":"qwen2","vocab_size":151936,"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,
             "num_attention_heads":14,"num_key_value_heads":2,"tie_word_embeddings":true,"rope_theta":1000000.0,
             "eos_token_id":[151643,151645],
             "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}
            """));
        c.QkvBias.Should().BeTrue();
        c.OutputBias.Should().BeFalse();
        c.EosTokenIds.Should().Equal(151643, 151645);
        c.RopeScaling.Should().Be(new RopeScaling(RopeScalingType.Llama3, 8.0, 1.0, 4.0, 8192));
        c.HeadDimension.Should().Be(64);
    }

    [Fact]
    public void Reads_transformers5_rope_parameters()
    {
        var c = LlamaConfig.Load(Write("""
            {"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,
             "rope_parameters":{"rope_type":"linear","rope_theta":500000.0,"factor":2.0}}
            """));
        c.RopeTheta.Should().Be(500000.0);
        c.RopeScaling!.Type.Should().Be(RopeScalingType.Linear);
    }

    [Fact]
    public void Save_then_load_round_trips_every_field()
    {
        var original = TinyConfigs.Llama(tied: true) with
        {
            RopeScaling = new RopeScaling(RopeScalingType.Linear, 4.0),
            AttentionBias = true,
            EosTokenIds = [2, 3],
        };
        original.Save(_dir, "bfloat16");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "config.json")))!;
        json["architectures"]![0]!.GetValue<string>().Should().Be("LlamaForCausalLM");
        json["torch_dtype"]!.GetValue<string>().Should().Be("bfloat16");
        var loaded = LlamaConfig.Load(_dir);
        loaded.Should().BeEquivalentTo(original with { TorchDtype = "bfloat16", NumKeyValueHeads = 2, HeadDim = 8 });
        Directory.GetFiles(_dir).Should().ContainSingle("no temp file is left behind");
    }

    [Theory]
    [InlineData("""{"model_type":"gpt2","vocab_size":10}""", "*model_type*gpt2*llama, mistral, qwen2*")]
    [InlineData("""{"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}""", "*missing required field 'vocab_size'*")]
    [InlineData("""{"model_type":"llama","vocab_size":"ten","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2}""", "*'vocab_size'*expected an integer*")]
    [InlineData("""{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":3}""", "*multiple of num_key_value_heads*")]
    [InlineData("""{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"rope_scaling":{"rope_type":"yarn","factor":2}}""", "*rope_type*yarn*")]
    [InlineData("""{"model_type": "llama", """, "*malformed JSON*")]
    public void Bad_configs_name_the_file_and_field(string json, string message)
    {
        var act = () => LlamaConfig.Load(Write(json));
        act.Should().Throw<InvalidDataException>().WithMessage(message).Where(e => e.Message.Contains("config.json"));
    }

    private const string Base = "\"model_type\":\"llama\",\"vocab_size\":10,\"intermediate_size\":16,\"num_attention_heads\":2";

    [Theory]
    [InlineData("\"hidden_size\":1000000000,\"num_hidden_layers\":1", "*'hidden_size'*at most*1000000000*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1000000000", "*'num_hidden_layers'*at most*1000000000*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_theta\":-1", "*'rope_theta'*positive finite*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_theta\":\"NaN\"", "*'rope_theta'*positive finite*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rms_norm_eps\":0", "*'rms_norm_eps'*positive finite*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":0}", "*'rope_scaling.factor'*positive finite*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":-1}", "*'rope_scaling.low_freq_factor'*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":\"linear\"", "*'rope_scaling'*expected an object*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":2}", "*rope_type*dynamic*supported*")]
    [InlineData("\"hidden_size\":9,\"num_hidden_layers\":1", "*hidden_size (9) is not divisible by num_attention_heads (2)*")]
    [InlineData("\"hidden_size\":1,\"num_hidden_layers\":1", "*hidden_size (1) is not divisible by num_attention_heads (2)*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"eos_token_id\":10", "*'eos_token_id' is 10*[0, 10)*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"bos_token_id\":-1", "*'bos_token_id' is -1*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"pad_token_id\":2147483647", "*'pad_token_id' is 2147483647*")]
    [InlineData("\"hidden_size\":8,\"num_hidden_layers\":1,\"hidden_size\":16", "*duplicate*hidden_size*")]
    public void Out_of_range_configs_fail_at_once_naming_the_field(string fields, string message)
    {
        var act = () => LlamaConfig.Load(Write("{" + Base + "," + fields + "}"));
        act.Should().Throw<InvalidDataException>().WithMessage(message).Where(e => e.Message.Contains("config.json"));
    }

    [Fact]
    public void A_config_larger_than_memory_is_refused_before_allocating()
    {
        // Within every per-field bound, but 10^12 parameters need 4 TB: building it must fail at once.
        var huge = TinyConfigs.Llama() with { HiddenSize = 8192, HeadDim = 128, NumAttentionHeads = 64, NumKeyValueHeads = 8, IntermediateSize = 32768, NumHiddenLayers = 1024 };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var act = () => TinyConfigs.Create(huge);
        act.Should().Throw<ArgumentException>().WithMessage("*parameters*GB*memory*hidden_size (8192)*");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        var small = TinyConfigs.Llama();
        var tooLittle = () => small.EnsureFitsInMemory(availableBytes: small.ParameterCount * 4 - 1);
        tooLittle.Should().Throw<ArgumentException>();
        small.EnsureFitsInMemory(availableBytes: small.ParameterCount * 4);
    }

    [Fact]
    public void Missing_config_is_a_FileNotFoundException_naming_the_path()
    {
        var act = () => LlamaConfig.Load(Path.Combine(_dir, "nowhere"));
        act.Should().Throw<FileNotFoundException>().WithMessage("*config.json*");
    }

    [Fact]
    public void Llama3_rope_scaling_keeps_high_frequencies_and_divides_low_ones()
    {
        var baseConfig = TinyConfigs.Llama() with { HeadDim = 64, HiddenSize = 256, RopeTheta = 500000 };
        var plain = new RotaryEmbedding(baseConfig).InverseFrequencies;
        var scaled = new RotaryEmbedding(baseConfig with
        {
            RopeScaling = new RopeScaling(RopeScalingType.Llama3, 8, 1, 4, 8192),
        }).InverseFrequencies;
        scaled[0].Should().Be(plain[0]);                                     // wavelength 2π < 2048: kept
        scaled[^1].Should().BeApproximately(plain[^1] / 8, 1e-15);           // longest wavelength: divided by factor
        var linear = new RotaryEmbedding(baseConfig with { RopeScaling = new RopeScaling(RopeScalingType.Linear, 2) }).InverseFrequencies;
        linear[3].Should().BeApproximately(plain[3] / 2, 1e-15);
    }
}
