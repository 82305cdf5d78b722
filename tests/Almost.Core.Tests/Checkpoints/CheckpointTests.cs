using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Almost.Checkpoints;
using Almost.IO;
using FluentAssertions;
using TorchSharp;
using Xunit;
using Tensor = TorchSharp.torch.Tensor;

namespace Almost.Core.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Bytes(Tensor t) => t.contiguous().cpu().bytes.ToArray();

    private static void ShouldMatchBitwise(IReadOnlyDictionary<string, Tensor> actual, IReadOnlyDictionary<string, Tensor> expected)
    {
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (name, tensor) in expected)
        {
            actual[name].dtype.Should().Be(tensor.dtype, name);
            actual[name].shape.Should().Equal(tensor.shape, name);
            Bytes(actual[name]).Should().Equal(Bytes(tensor), name);
        }
    }

    [Fact]
    public void Save_then_load_round_trips_fp32_tensors_bitwise()
    {
        var source = new TinyLm(seed: 1);
        HfCheckpoint.Save(source, _dir.Path);

        _dir.FileNames().Should().Equal(HfCheckpoint.WeightsFileName);
        var loaded = HfCheckpoint.LoadStateDict(_dir.Path);
        ShouldMatchBitwise(loaded, source.state_dict());

        var target = new TinyLm(seed: 2);
        Bytes(target.state_dict()["lm_head.weight"]).Should().NotEqual(Bytes(source.state_dict()["lm_head.weight"]));
        HfCheckpoint.LoadInto(target, _dir.Path);
        ShouldMatchBitwise(target.state_dict(), source.state_dict());
    }

    [Fact]
    public void A_single_safetensors_file_round_trips_bitwise_beside_a_model_and_survives_its_next_save()
    {
        var source = new TinyLm(seed: 1);
        HfCheckpoint.Save(source, _dir.Path);
        var head = new Dictionary<string, Tensor> { ["v_head.summary.weight"] = torch.randn(1, 8), ["v_head.summary.bias"] = torch.zeros(1) };
        HfCheckpoint.SaveFile(head, _dir["value_head.safetensors"]);
        HfCheckpoint.Save(new TinyLm(seed: 2), _dir.Path);          // a later save of the model leaves other files alone

        _dir.FileNames().Should().BeEquivalentTo([HfCheckpoint.WeightsFileName, "value_head.safetensors"]);
        ShouldMatchBitwise(HfCheckpoint.LoadFile(_dir["value_head.safetensors"]), head);
        HfCheckpoint.LoadStateDict(_dir.Path).Keys.Should().BeEquivalentTo(source.state_dict().Keys, "the model's file holds only its own keys");
    }

    [Fact]
    public void Sharded_save_writes_index_and_shards_that_load_back_identical()
    {
        var source = new TinyLm(seed: 3);
        HfCheckpoint.Save(source, _dir.Path, new CheckpointSaveOptions { MaxShardBytes = 400 });

        var files = _dir.FileNames();
        files.Should().Contain(HfCheckpoint.IndexFileName).And.NotContain(HfCheckpoint.WeightsFileName);
        var shards = files.Where(f => f != HfCheckpoint.IndexFileName).ToArray();
        shards.Length.Should().BeGreaterThan(2);
        shards.Should().Equal(Enumerable.Range(1, shards.Length).Select(i => $"model-{i:D5}-of-{shards.Length:D5}.safetensors"));

        using var index = JsonDocument.Parse(File.ReadAllText(_dir[HfCheckpoint.IndexFileName]));
        var weightMap = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var expected = source.state_dict();
        weightMap.Keys.Should().BeEquivalentTo(expected.Keys);
        weightMap.Values.Distinct().Should().BeEquivalentTo(shards);
        index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64()
            .Should().Be(expected.Values.Sum(t => t.NumberOfElements * 4));
        foreach (var shard in shards)
        {
            SafetensorsFile.ReadHeader(_dir[shard]).Tensors.Sum(t => t.ByteLength).Should().BeLessThanOrEqualTo(400);
        }

        ShouldMatchBitwise(HfCheckpoint.LoadStateDict(_dir.Path), expected);
        var target = new TinyLm(seed: 4);
        HfCheckpoint.LoadInto(target, _dir.Path);
        ShouldMatchBitwise(target.state_dict(), expected);
    }

    [Fact]
    public void Bf16_file_loads_into_fp32_module_as_rounded_values_and_module_stays_fp32()
    {
        var source = new TinyLm(seed: 5);
        HfCheckpoint.Save(source, _dir.Path, new CheckpointSaveOptions { DType = torch.ScalarType.BFloat16 });
        SafetensorsFile.ReadHeader(_dir[HfCheckpoint.WeightsFileName]).Tensors.Select(t => t.DType).Should().AllBe("BF16");

        var target = new TinyLm(seed: 6);
        HfCheckpoint.LoadInto(target, _dir.Path);

        foreach (var (name, original) in source.state_dict())
        {
            var loaded = target.state_dict()[name];
            loaded.dtype.Should().Be(torch.ScalarType.Float32, name);
            var rounded = original.to(torch.ScalarType.BFloat16).to(torch.ScalarType.Float32);
            Bytes(loaded).Should().Equal(Bytes(rounded), name);
        }
        target.parameters().Should().OnlyContain(p => p.dtype == torch.ScalarType.Float32);
    }

    [Fact]
    public void Fp32_file_loads_into_bf16_module_and_module_stays_bf16()
    {
        var source = new TinyLm(seed: 7);
        HfCheckpoint.Save(source, _dir.Path);
        SafetensorsFile.ReadHeader(_dir[HfCheckpoint.WeightsFileName]).Tensors.Select(t => t.DType).Should().AllBe("F32");

        var target = new TinyLm(seed: 8).to(torch.ScalarType.BFloat16);
        HfCheckpoint.LoadInto(target, _dir.Path);

        foreach (var (name, original) in source.state_dict())
        {
            var loaded = target.state_dict()[name];
            loaded.dtype.Should().Be(torch.ScalarType.BFloat16, name);
            Bytes(loaded).Should().Equal(Bytes(original.to(torch.ScalarType.BFloat16)), name);
        }
    }

    [Fact]
    public void LoadStateDictInto_converts_dtype_and_keeps_module_dtype()
    {
        var source = new TinyLm(seed: 9).to(torch.ScalarType.Float16);
        var target = new TinyLm(seed: 10);
        HfCheckpoint.LoadStateDictInto(target, source.state_dict(), "fp16 twin");

        foreach (var (name, original) in source.state_dict())
        {
            target.state_dict()[name].dtype.Should().Be(torch.ScalarType.Float32);
            Bytes(target.state_dict()[name]).Should().Equal(Bytes(original.to(torch.ScalarType.Float32)), name);
        }
    }

    [Fact]
    public void Mismatched_checkpoint_throws_one_exception_listing_missing_unexpected_and_wrong_shapes_and_leaves_module_untouched()
    {
        var tensors = new TinyLm(seed: 11).state_dict()
            .Where(kv => kv.Key != "model.layers.1.bias")
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["model.layers.0.weight"] = torch.zeros(4, 16);
        tensors["model.extra.weight"] = torch.zeros(3);
        HfCheckpoint.Save(tensors, _dir.Path);

        var target = new TinyLm(seed: 12);
        var before = target.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var act = () => HfCheckpoint.LoadInto(target, _dir.Path);

        var error = act.Should().Throw<CheckpointException>().Which;
        error.Message.Should().Contain(_dir[HfCheckpoint.WeightsFileName])
            .And.Contain("missing: model.layers.1.bias")
            .And.Contain("unexpected: model.extra.weight")
            .And.Contain("shape mismatch: model.layers.0.weight expected [8,8] got [4,16]");
        error.MissingKeys.Should().Equal("model.layers.1.bias");
        error.UnexpectedKeys.Should().Equal("model.extra.weight");
        error.ShapeMismatchKeys.Should().Equal("model.layers.0.weight");
        ShouldMatchBitwise(target.state_dict(), before);
    }

    [Fact]
    public void Tied_weight_skipped_on_save_is_not_written_and_loads_only_when_ignored()
    {
        var source = new TinyLm(seed: 13);
        HfCheckpoint.Save(source, _dir.Path, new CheckpointSaveOptions { SkipKeys = new HashSet<string> { "lm_head.weight" } });
        SafetensorsFile.ReadHeader(_dir[HfCheckpoint.WeightsFileName]).TryGetTensor("lm_head.weight", out _).Should().BeFalse();

        var strict = () => HfCheckpoint.LoadInto(new TinyLm(seed: 14), _dir.Path);
        strict.Should().Throw<CheckpointException>().WithMessage("*missing: lm_head.weight*");

        var target = new TinyLm(seed: 14);
        HfCheckpoint.LoadInto(target, _dir.Path, new CheckpointLoadOptions { IgnoreMissing = new HashSet<string> { "lm_head.weight" } });
        Bytes(target.state_dict()["model.embed_tokens.weight"]).Should().Equal(Bytes(source.state_dict()["model.embed_tokens.weight"]));
    }

    [Fact]
    public void Unexpected_rotary_buffer_is_skipped_when_allowed()
    {
        var tensors = new TinyLm(seed: 15).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        tensors["model.rotary_emb.inv_freq"] = torch.ones(4);
        HfCheckpoint.Save(tensors, _dir.Path);

        var strict = () => HfCheckpoint.LoadInto(new TinyLm(seed: 16), _dir.Path);
        strict.Should().Throw<CheckpointException>().WithMessage("*unexpected: model.rotary_emb.inv_freq*");

        var target = new TinyLm(seed: 16);
        HfCheckpoint.LoadInto(target, _dir.Path, new CheckpointLoadOptions { IgnoreUnexpected = k => k.EndsWith(".inv_freq", StringComparison.Ordinal) });
        Bytes(target.state_dict()["lm_head.weight"]).Should().Equal(Bytes(tensors["lm_head.weight"]));
    }

    [Fact]
    public void Missing_folder_is_reported_with_its_path_and_the_expected_files()
    {
        var missing = _dir["nope"];
        var act = () => HfCheckpoint.LoadStateDict(missing);
        act.Should().Throw<CheckpointException>()
            .Which.Message.Should().Contain(missing).And.Contain("model.safetensors or model.safetensors.index.json");
    }

    [Fact]
    public void Folder_without_weights_is_reported_with_the_expected_files()
    {
        File.WriteAllText(_dir["config.json"], "{}");
        var act = () => HfCheckpoint.LoadStateDict(_dir.Path);
        act.Should().Throw<CheckpointException>()
            .Which.Message.Should().Contain(_dir.Path).And.Contain("expected model.safetensors or model.safetensors.index.json");
    }

    [Fact]
    public void Pickle_bin_checkpoint_is_refused_and_never_loaded()
    {
        File.WriteAllBytes(_dir["pytorch_model.bin"], [0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E]);
        var act = () => HfCheckpoint.LoadInto(new TinyLm(seed: 17), _dir.Path);
        act.Should().Throw<CheckpointException>()
            .Which.Message.Should().Contain("pytorch_model.bin").And.Contain("ickle").And.Contain("safetensors");
    }

    [Fact]
    public void Index_pointing_at_a_missing_shard_names_the_shard()
    {
        HfCheckpoint.Save(new TinyLm(seed: 18), _dir.Path, new CheckpointSaveOptions { MaxShardBytes = 400 });
        var shard = HfCheckpoint.ShardFileName(2, _dir.FileNames().Length - 1);
        File.Delete(_dir[shard]);

        var act = () => HfCheckpoint.LoadStateDict(_dir.Path);
        act.Should().Throw<CheckpointException>().Which.Message.Should().Contain(shard).And.Contain(HfCheckpoint.IndexFileName);
    }

    [Fact]
    public void Truncated_file_is_rejected_naming_the_file()
    {
        HfCheckpoint.Save(new TinyLm(seed: 19), _dir.Path);
        var path = _dir[HfCheckpoint.WeightsFileName];
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        var act = () => HfCheckpoint.LoadStateDict(_dir.Path);
        var error = act.Should().Throw<CheckpointException>().Which;
        error.Message.Should().Contain(path).And.Contain("truncated or corrupt safetensors header");
        error.FilePath.Should().Be(path);
    }

    [Fact]
    public void Garbage_header_length_is_rejected_naming_the_file()
    {
        HfCheckpoint.Save(new TinyLm(seed: 20), _dir.Path);
        var path = _dir[HfCheckpoint.WeightsFileName];
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 0xDEADBEEF_DEADBEEF);
        File.WriteAllBytes(path, bytes);

        var act = () => HfCheckpoint.LoadInto(new TinyLm(seed: 21), _dir.Path);
        act.Should().Throw<CheckpointException>()
            .Which.Message.Should().Contain(path).And.Contain("truncated or corrupt safetensors header").And.Contain("header length");
    }

    [Theory]
    [InlineData("this is not json at all", "", "not valid JSON")]
    [InlineData("[1,2,3]", "", "not a JSON object")]
    [InlineData("{\"a\":{\"dtype\":\"X9\",\"shape\":[1],\"data_offsets\":[0,4]}}", "ABCD", "unsupported dtype 'X9'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "ABCD", "needs 8 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", "ABCD", "needs 4 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "ABCD", "truncated?")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "ABCDEFGH", "gap or overlap")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "ABCD", "non-negative integer")]
    [InlineData("{\"__metadata__\":{\"format\":1}}", "", "not a string")]
    public void Corrupt_header_is_rejected_naming_the_file(string header, string data, string expected)
    {
        var path = _dir[HfCheckpoint.WeightsFileName];
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using (var file = File.Create(path))
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
            file.Write(prefix);
            file.Write(headerBytes);
            file.Write(Encoding.ASCII.GetBytes(data));
        }

        var act = () => SafetensorsFile.ReadHeader(path);
        act.Should().Throw<CheckpointException>()
            .Which.Message.Should().Contain(path).And.Contain("truncated or corrupt safetensors header").And.Contain(expected);
    }

    [Fact]
    public void Written_header_has_pt_format_metadata_and_is_8_byte_aligned()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["odd.name.ü"] = torch.arange(3, dtype: torch.ScalarType.Int64),
            ["flag"] = torch.tensor(new[] { true, false, true }),
            ["x"] = torch.ones(new long[] { 2, 3 }, dtype: torch.ScalarType.Float16),
        };
        var path = _dir["t.safetensors"];
        SafetensorsFile.Save(path, tensors);

        var bytes = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (n % 8).Should().Be(0);
        using var json = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        json.RootElement.GetProperty("__metadata__").GetProperty("format").GetString().Should().Be("pt");
        json.RootElement.GetProperty("x").GetProperty("dtype").GetString().Should().Be("F16");
        json.RootElement.GetProperty("flag").GetProperty("dtype").GetString().Should().Be("BOOL");
        json.RootElement.GetProperty("odd.name.ü").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(0, 24);

        var header = SafetensorsFile.ReadHeader(path);
        header.Metadata.Should().Contain("format", "pt");
        header.DataStart.Should().Be(8 + n);
        ShouldMatchBitwise(SafetensorsFile.Load(path), tensors);
    }

    [Fact]
    public void Files_we_write_are_readable_by_PyBridge()
    {
        var source = new TinyLm(seed: 22);
        HfCheckpoint.Save(source, _dir.Path, new CheckpointSaveOptions { DType = torch.ScalarType.BFloat16 });
        var viaPyBridge = TorchSharp.PyBridge.Safetensors.LoadStateDict(_dir[HfCheckpoint.WeightsFileName]);
        ShouldMatchBitwise(viaPyBridge, HfCheckpoint.LoadStateDict(_dir.Path));
    }

    [Fact]
    public void Resaving_with_another_layout_removes_stale_weights_files_only()
    {
        File.WriteAllText(_dir["config.json"], "{}");
        File.WriteAllText(_dir["model-00009-of-00009.safetensors"], "stale");
        var first = new TinyLm(seed: 23);
        HfCheckpoint.Save(first, _dir.Path, new CheckpointSaveOptions { MaxShardBytes = 400 });
        _dir.FileNames().Should().NotContain("model-00009-of-00009.safetensors").And.Contain("config.json");

        var second = new TinyLm(seed: 24);
        HfCheckpoint.Save(second, _dir.Path);
        _dir.FileNames().Should().Equal("config.json", HfCheckpoint.WeightsFileName);
        ShouldMatchBitwise(HfCheckpoint.LoadStateDict(_dir.Path), second.state_dict());

        var third = new TinyLm(seed: 25);
        HfCheckpoint.Save(third, _dir.Path, new CheckpointSaveOptions { MaxShardBytes = 700 });
        _dir.FileNames().Should().NotContain(HfCheckpoint.WeightsFileName).And.Contain(HfCheckpoint.IndexFileName);
        _dir.FileNames().Should().OnlyContain(f => f == "config.json" || f == HfCheckpoint.IndexFileName || f.EndsWith("-of-00002.safetensors"));
        ShouldMatchBitwise(HfCheckpoint.LoadStateDict(_dir.Path), third.state_dict());
    }

    [Fact]
    public void AtomicFile_failed_write_leaves_no_target_and_no_temporary_file()
    {
        var path = _dir["model.safetensors"];
        var act = () => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new InvalidOperationException("disk on fire");
        });

        act.Should().Throw<InvalidOperationException>().WithMessage("disk on fire");
        _dir.FileNames().Should().BeEmpty();
    }

    [Fact]
    public void AtomicFile_failed_write_keeps_the_previous_content()
    {
        var path = _dir["config.json"];
        AtomicFile.WriteJson(path, new { hidden_size = 8 });
        var act = () => AtomicFile.Write(path, _ => throw new IOException("boom"));

        act.Should().Throw<IOException>();
        _dir.FileNames().Should().Equal("config.json");
        File.ReadAllText(path).Should().Contain("\"hidden_size\": 8");

        AtomicFile.WriteAllText(path, "{}");
        File.ReadAllText(path).Should().Be("{}");
    }

    [Fact]
    public void Failed_save_leaves_the_previous_checkpoint_loadable()
    {
        var first = new TinyLm(seed: 26);
        HfCheckpoint.Save(first, _dir.Path);
        var complex = new Dictionary<string, Tensor> { ["c"] = torch.zeros(2, dtype: torch.ScalarType.ComplexFloat32) };

        var act = () => HfCheckpoint.Save(complex, _dir.Path);
        act.Should().Throw<NotSupportedException>();
        _dir.FileNames().Should().Equal(HfCheckpoint.WeightsFileName);
        ShouldMatchBitwise(HfCheckpoint.LoadStateDict(_dir.Path), first.state_dict());
    }
}
