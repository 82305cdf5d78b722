using System.Text;
using Almost.Checkpoints;
using Almost.Core.Tests.Checkpoints;
using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Tokenization;
using FluentAssertions;
using TorchSharp;
using Xunit;

namespace Almost.Core.Tests.BadInputs;

/// <summary>Inputs that used to escape as raw runtime exceptions now fail with the SDK's own, naming the file.</summary>
public sealed class WrappedExceptionTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void ReplaceFirst(string path, string ascii, byte with)
    {
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(ascii));
        at.Should().BeGreaterThanOrEqualTo(0);
        bytes[at] = with;
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void Invalid_utf8_in_a_safetensors_header_is_a_CheckpointException_naming_the_file()
    {
        HfCheckpoint.Save(new TinyLm(seed: 1), _dir.Path);
        var file = _dir[HfCheckpoint.WeightsFileName];
        ReplaceFirst(file, "lm_head", 0xFF);

        var act = () => HfCheckpoint.LoadStateDict(_dir.Path);
        act.Should().Throw<CheckpointException>().WithMessage($"*{file}*not valid UTF-8*");
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("merges.txt")]
    public void Invalid_utf8_in_a_tokenizer_file_is_a_TokenizerLoadException_naming_the_file(string name)
    {
        if (name == "tokenizer.json")
        {
            TinyByteLevelBpe.WriteTokenizerJson(_dir.Path, arrayMerges: false);
        }
        else
        {
            TinyByteLevelBpe.WriteVocabAndMerges(_dir.Path);
        }

        var path = _dir[name];
        var text = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. text[..^2], 0xC3, 0x28, .. text[^2..]]); // 0xC3 0x28: a lead byte without its continuation
        var act = () => AlmostTokenizer.FromFolder(_dir.Path);
        act.Should().Throw<TokenizerLoadException>().Where(e => e.Path == path).WithMessage("*not valid UTF-8*");
    }

    [Fact]
    public void Invalid_utf8_in_a_sentencepiece_piece_is_a_TokenizerLoadException()
    {
        var pieces = new[] { ("<unk>", 0f, SentencePieceModelWriter.Unknown), ("<s>", 0f, SentencePieceModelWriter.Control), ("</s>", 0f, SentencePieceModelWriter.Control), ("\u2581a", -1f, SentencePieceModelWriter.Normal), ("zq", -2f, SentencePieceModelWriter.Normal) };
        var bytes = SentencePieceModelWriter.Write(pieces, SentencePieceModelWriter.Bpe, byteFallback: false, removeExtraWhitespaces: false);
        var at = bytes.AsSpan().IndexOf("zq"u8);
        bytes[at] = 0xFF;
        var path = _dir["tokenizer.model"];
        File.WriteAllBytes(path, bytes);

        var act = () => TokenizerLoader.FromSentencePiece(path);
        act.Should().Throw<TokenizerLoadException>().Where(e => e.Path == path).WithMessage("*UTF-8*");
    }

    [Fact]
    public void Duplicate_ids_in_a_vocabulary_are_reported_with_both_tokens()
    {
        TinyByteLevelBpe.WriteTokenizerJson(_dir.Path, arrayMerges: false);
        var path = _dir["tokenizer.json"];
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var (first, firstId) = TinyByteLevelBpe.Vocab.First(kv => kv.Value == 0);
        var second = TinyByteLevelBpe.Vocab.First(kv => kv.Value == 1).Key;
        json["model"]!["vocab"]![second] = firstId;
        File.WriteAllText(path, json.ToJsonString());

        var act = () => AlmostTokenizer.FromFolder(_dir.Path);
        act.Should().Throw<TokenizerLoadException>().WithMessage($"*model.vocab*gives id {firstId} to two tokens*");
        first.Should().NotBe(second);
    }

    [Fact]
    public void A_vocabulary_id_of_int_MaxValue_is_refused_not_overflowed()
    {
        TinyByteLevelBpe.WriteVocabAndMerges(_dir.Path);
        var path = _dir["vocab.json"];
        var json = File.ReadAllText(path);
        File.WriteAllText(path, json.Insert(1, "\"zzz\":2147483647,"));

        var act = () => AlmostTokenizer.FromFolder(_dir.Path);
        act.Should().Throw<TokenizerLoadException>().Where(e => e.Path == path).WithMessage("*2147483647*expected a token id*");
    }

    [Fact]
    public void A_file_where_a_folder_is_expected_and_the_reverse_are_named_as_such()
    {
        HfCheckpoint.Save(new TinyLm(seed: 1), _dir.Path);
        var weights = _dir[HfCheckpoint.WeightsFileName];

        FluentActions.Invoking(() => HfCheckpoint.LoadStateDict(weights)).Should().Throw<CheckpointException>().WithMessage("*is a file; expected a folder*");
        FluentActions.Invoking(() => SafetensorsFile.ReadHeader(_dir.Path)).Should().Throw<CheckpointException>().WithMessage("*is a folder; expected a .safetensors file*");
        FluentActions.Invoking(() => AlmostTokenizer.FromFolder(weights)).Should().Throw<TokenizerLoadException>().WithMessage("*is a file; expected a tokenizer folder*");
        FluentActions.Invoking(() => TokenizerLoader.FromSentencePiece(_dir.Path)).Should().Throw<TokenizerLoadException>().WithMessage("*is a folder; expected a SentencePiece tokenizer.model*");
    }

    [Fact]
    public async Task A_folder_given_as_a_JSONL_path_is_a_JsonlFormatException()
    {
        var folder = _dir.Path;
        var read = async () => { await foreach (var _ in JsonlReader.ReadAsync<PreferenceRecord>(folder)) { } };
        (await read.Should().ThrowAsync<JsonlFormatException>()).WithMessage($"{folder}*is a folder; expected a JSONL file*");
        await FluentActions.Awaiting(() => JsonlResume.RepairAsync(folder)).Should().ThrowAsync<JsonlFormatException>();
        FluentActions.Invoking(() => JsonlWriter.Open(folder)).Should().Throw<JsonlFormatException>();
        await FluentActions.Awaiting(() => JsonlWriter.WriteAllAsync(folder, Array.Empty<PreferenceRecord>())).Should().ThrowAsync<JsonlFormatException>();
    }

    [Fact]
    public void Integer_tensors_are_not_loaded_into_float_weights_unless_asked_for()
    {
        var source = new TinyLm(seed: 1);
        var state = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        using var asInt = state["lm_head.weight"].mul(100).to(torch.ScalarType.Int32);
        state["lm_head.weight"] = asInt;
        HfCheckpoint.Save(state, _dir.Path);

        var target = new TinyLm(seed: 2);
        var act = () => HfCheckpoint.LoadInto(target, _dir.Path);
        act.Should().Throw<CheckpointException>().WithMessage("*integer tensors*lm_head.weight is Int32*AllowIntegerToFloat*");
        HfCheckpoint.LoadInto(target, _dir.Path, new CheckpointLoadOptions { AllowIntegerToFloat = true });
        target.state_dict()["lm_head.weight"].dtype.Should().Be(torch.ScalarType.Float32);
    }
}
