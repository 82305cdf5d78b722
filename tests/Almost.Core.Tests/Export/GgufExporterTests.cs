using System.Buffers.Binary;
using System.Text;
using Almost.Core.Tests.Tokenization;
using Almost.Export.Gguf;
using Almost.Models.Llama;
using Almost.Tokenization;
using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Export;

/// <summary>The GGUF file itself, read back byte by byte (llama.cpp reads it in Almost.LlamaCpp.Tests).</summary>
public sealed class GgufExporterTests : IDisposable
{
    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    private static AlmostTokenizer Tokenizer() =>
        TokenizerLoader.FromByteLevelBpe(TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, "<|endoftext|>", "<|endoftext|>");

    private static LlamaConfig Config(AlmostTokenizer tokenizer) => new()
    {
        VocabSize = tokenizer.VocabSize,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 1,
        NumAttentionHeads = 2,
        NumKeyValueHeads = 1,
    };

    [Fact]
    public void Q8_0_blocks_hold_an_fp16_scale_of_max_over_127_and_values_rounded_half_away_from_zero()
    {
        float[] values = new float[32];
        values[0] = 1.27f;
        values[1] = -0.005f;   // -0.5 steps: rounds away from zero to -1
        values[2] = 0.015f;    // 1.5 steps: 2
        values[3] = -1.27f;

        byte[] block = GgmlEncoding.Encode(GgufTensorType.Q8_0, values);

        block.Should().HaveCount(34);
        ((float)BinaryPrimitives.ReadHalfLittleEndian(block)).Should().BeApproximately(0.01f, 1e-5f);
        ((sbyte)block[2]).Should().Be(127);
        ((sbyte)block[3]).Should().Be(-1);
        ((sbyte)block[4]).Should().Be(2);
        ((sbyte)block[5]).Should().Be(-127);
    }

    [Fact]
    public void Llama_export_permutes_query_rows_into_rotary_pairs_and_writes_the_architecture()
    {
        var tokenizer = Tokenizer();
        using var model = LlamaForCausalLM.Create(Config(tokenizer), new ModelOptions { Device = "cpu", Seed = 1 });
        var result = model.SaveGguf(Path.Combine(_folder, "m.gguf"), tokenizer);

        var file = GgufFile.Read(result.Path);
        file.Strings["general.architecture"].Should().Be("llama");
        file.Strings["tokenizer.ggml.model"].Should().Be("gpt2");
        file.Strings["tokenizer.ggml.pre"].Should().Be("gpt-2");
        file.UInts["llama.block_count"].Should().Be(1);
        file.UInts["llama.attention.head_count_kv"].Should().Be(1);
        file.UInts["tokenizer.ggml.eos_token_id"].Should().Be((uint)tokenizer.EosTokenId!.Value);
        file.Tensors.Keys.Should().BeEquivalentTo(
            "token_embd.weight", "output_norm.weight", "output.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
            "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_norm.weight",
            "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight");
        file.Tensors["blk.0.attn_q.weight"].Dims.Should().Equal(32, 32);   // ggml order: columns first

        // Head 0, head_dim 16: our row 8 (second half, j = 0) is llama.cpp's row 1; our row 1 is its row 2.
        using var q = model.state_dict()["model.layers.0.self_attn.q_proj.weight"].contiguous();
        float[] ours = q.data<float>().ToArray();
        float[] written = file.Floats("blk.0.attn_q.weight");
        written.AsSpan(32, 32).ToArray().Should().Equal(ours.AsSpan(8 * 32, 32).ToArray());
        written.AsSpan(64, 32).ToArray().Should().Equal(ours.AsSpan(32, 32).ToArray());
        file.Floats("blk.0.attn_v.weight").Should().Equal(model.state_dict()["model.layers.0.self_attn.v_proj.weight"].contiguous().data<float>().ToArray());
    }

    [Fact]
    public void Qwen2_export_keeps_the_halves_layout_and_tied_models_have_no_output_tensor()
    {
        var tokenizer = Tokenizer();
        using var model = LlamaForCausalLM.Create(Config(tokenizer) with { ModelType = "qwen2", TieWordEmbeddings = true }, new ModelOptions { Device = "cpu" });
        var result = model.SaveGguf(Path.Combine(_folder, "q.gguf"), tokenizer, new GgufExportOptions { TensorType = GgufTensorType.F16 });

        var file = GgufFile.Read(result.Path);
        file.Strings["general.architecture"].Should().Be("qwen2");
        file.Tensors.Should().NotContainKey("output.weight").And.ContainKey("blk.0.attn_q.bias");
        file.Tensors["blk.0.attn_q.weight"].Type.Should().Be(1u, "F16");
        file.Tensors["blk.0.attn_q.bias"].Type.Should().Be(0u, "biases stay F32");
    }

    [Fact]
    public void Failed_export_leaves_no_file_and_says_why()
    {
        var tokenizer = Tokenizer();
        string path = Path.Combine(_folder, "bad.gguf");
        using var small = LlamaForCausalLM.Create(Config(tokenizer) with { VocabSize = 8 }, new ModelOptions { Device = "cpu" });
        var tooSmall = () => small.SaveGguf(path, tokenizer);
        tooSmall.Should().Throw<ArgumentException>().WithMessage("*vocab_size is 8*");

        using var biased = LlamaForCausalLM.Create(Config(tokenizer) with { MlpBias = true }, new ModelOptions { Device = "cpu" });
        var mlpBias = () => biased.SaveGguf(path, tokenizer);
        mlpBias.Should().Throw<NotSupportedException>().WithMessage("*mlp_bias*");
        Directory.GetFiles(_folder).Should().BeEmpty();
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A minimal GGUF v3 reader for the checks above (scalars, strings, arrays skipped; F32 tensor data).</summary>
    private sealed class GgufFile
    {
        public Dictionary<string, string> Strings { get; } = [];

        public Dictionary<string, uint> UInts { get; } = [];

        public Dictionary<string, (ulong[] Dims, uint Type, ulong Offset)> Tensors { get; } = [];

        private byte[] _bytes = [];
        private long _dataStart;

        public float[] Floats(string tensor)
        {
            var (dims, type, offset) = Tensors[tensor];
            type.Should().Be(0u);
            long count = dims.Aggregate(1L, (a, d) => a * (long)d);
            var values = new float[count];
            Buffer.BlockCopy(_bytes, (int)(_dataStart + (long)offset), values, 0, (int)count * 4);
            return values;
        }

        public static GgufFile Read(string path)
        {
            var file = new GgufFile { _bytes = File.ReadAllBytes(path) };
            using var reader = new BinaryReader(new MemoryStream(file._bytes));
            Encoding.ASCII.GetString(reader.ReadBytes(4)).Should().Be("GGUF");
            reader.ReadUInt32().Should().Be(3u);
            ulong tensors = reader.ReadUInt64(), keys = reader.ReadUInt64();
            for (ulong k = 0; k < keys; k++)
            {
                string key = ReadString(reader);
                uint type = reader.ReadUInt32();
                switch (type)
                {
                    case 4: file.UInts[key] = reader.ReadUInt32(); break;
                    case 8: file.Strings[key] = ReadString(reader); break;
                    default: Skip(reader, type); break;
                }
            }

            for (ulong t = 0; t < tensors; t++)
            {
                string name = ReadString(reader);
                var dims = Enumerable.Range(0, (int)reader.ReadUInt32()).Select(_ => reader.ReadUInt64()).ToArray();
                file.Tensors[name] = (dims, reader.ReadUInt32(), reader.ReadUInt64());
            }

            file._dataStart = (reader.BaseStream.Position + 31) / 32 * 32;
            return file;
        }

        private static string ReadString(BinaryReader reader) => Encoding.UTF8.GetString(reader.ReadBytes((int)reader.ReadUInt64()));

        private static void Skip(BinaryReader reader, uint type)
        {
            switch (type)
            {
                case 5 or 6: reader.ReadUInt32(); break;
                case 7: reader.ReadByte(); break;
                case 8: ReadString(reader); break;
                case 9:
                    uint element = reader.ReadUInt32();
                    ulong count = reader.ReadUInt64();
                    for (ulong i = 0; i < count; i++)
                    {
                        Skip(reader, element);
                    }

                    break;
                default: throw new InvalidDataException($"Unexpected GGUF value type {type}.");
            }
        }
    }
}
