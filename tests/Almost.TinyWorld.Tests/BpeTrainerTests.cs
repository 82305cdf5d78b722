using System.Text.Json;
using Almost.TinyWorld;
using FluentAssertions;
using Almost.Tokenization;
using Xunit;

namespace Almost.TinyWorld.Tests;

/// <summary>Trains one small tokenizer on a small corpus and saves it, shared by the tests of the class.</summary>
public sealed class TrainedTokenizerFixture : IDisposable
{
    public TrainedTokenizerFixture()
    {
        Texts = new CorpusGenerator(new CorpusOptions { Seed = 21 }).Generate(1500).Select(d => d.Text).ToList();
        Model = new BpeTrainer(new BpeTrainerOptions { VocabSize = 700 }).Train(Texts);
        Directory = System.IO.Directory.CreateTempSubdirectory("tinyworld-bpe-").FullName;
        Model.Save(Directory);
    }

    public List<string> Texts { get; }

    public BpeModel Model { get; }

    public string Directory { get; }

    public string PathOf(string file) => Path.Combine(Directory, file);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public class BpeTrainerTests : IClassFixture<TrainedTokenizerFixture>
{
    private static readonly string[] Samples =
    [
        "\n\nHuman: What is 3 plus 4?\n\nAssistant: 3 plus 4 is 7. The answer is 7.",
        "Question: Can you add 12 and 19?\nAnswer: 31.",
        "  two  spaces, tabs\tand\nnew lines\n\n\n",
        "it's we'll they've I'm don't 12345 67",
        "Caf\u00e9 \u00fcber na\u00efve \u2014 \u65e5\u672c\u8a9e and an emoji \U0001F600!",
        "first document<|endoftext|>second document",
    ];

    private readonly TrainedTokenizerFixture _fixture;

    public BpeTrainerTests(TrainedTokenizerFixture fixture) => _fixture = fixture;

    private IEnumerable<string> RoundTripTexts => Samples.Concat(_fixture.Texts.Take(200));

    [Fact]
    public void Vocabulary_reaches_the_target_size_with_endoftext_first_and_all_bytes()
    {
        var model = _fixture.Model;

        model.Count.Should().Be(700);
        model.Vocabulary["<|endoftext|>"].Should().Be(0);
        ByteLevelAlphabet.Characters.Should().OnlyContain(c => model.Vocabulary.ContainsKey(c.ToString()));
        model.Merges.Should().HaveCount(700 - 1 - 256);
        model.Vocabulary.Should().ContainKey("\u0120the", "' the' is one of the most frequent pieces");
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var again = new BpeTrainer(new BpeTrainerOptions { VocabSize = 700 }).Train(_fixture.Texts);

        again.Merges.Should().Equal(_fixture.Model.Merges);
    }

    [Fact]
    public void Byte_table_is_the_gpt2_bytes_to_unicode_table()
    {
        ByteLevelAlphabet.Characters[' '].Should().Be('\u0120');
        ByteLevelAlphabet.Characters['\n'].Should().Be('\u010A');
        ByteLevelAlphabet.Characters['A'].Should().Be('A');
        ByteLevelAlphabet.Characters[0xAD].Should().Be('\u0143');
        ByteLevelAlphabet.Characters.Distinct().Should().HaveCount(256);
    }

    [Fact]
    public void Reference_encoder_round_trips()
    {
        foreach (string text in RoundTripTexts)
        {
            _fixture.Model.Decode(_fixture.Model.Encode(text)).Should().Be(text);
        }
    }

    [Fact]
    public void Files_are_written_in_the_hugging_face_layout()
    {
        File.ReadLines(_fixture.PathOf("merges.txt")).First().Should().Be("#version: 0.2");
        File.ReadLines(_fixture.PathOf("merges.txt")).Should().HaveCount(1 + _fixture.Model.Merges.Count);

        using var vocab = JsonDocument.Parse(File.ReadAllText(_fixture.PathOf("vocab.json")));
        vocab.RootElement.EnumerateObject().Should().HaveCount(700);

        using var tokenizer = JsonDocument.Parse(File.ReadAllText(_fixture.PathOf("tokenizer.json")));
        var root = tokenizer.RootElement;
        root.GetProperty("version").GetString().Should().Be("1.0");
        var added = root.GetProperty("added_tokens")[0];
        added.GetProperty("id").GetInt32().Should().Be(0);
        added.GetProperty("content").GetString().Should().Be("<|endoftext|>");
        added.GetProperty("special").GetBoolean().Should().BeTrue();
        root.GetProperty("normalizer").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("pre_tokenizer").GetProperty("type").GetString().Should().Be("ByteLevel");
        root.GetProperty("pre_tokenizer").GetProperty("add_prefix_space").GetBoolean().Should().BeFalse();
        root.GetProperty("decoder").GetProperty("type").GetString().Should().Be("ByteLevel");
        var model = root.GetProperty("model");
        model.GetProperty("type").GetString().Should().Be("BPE");
        model.GetProperty("byte_fallback").GetBoolean().Should().BeFalse();
        model.GetProperty("vocab").EnumerateObject().Should().HaveCount(700);
        model.GetProperty("merges").GetArrayLength().Should().Be(_fixture.Model.Merges.Count);

        using var config = JsonDocument.Parse(File.ReadAllText(_fixture.PathOf("tokenizer_config.json")));
        config.RootElement.GetProperty("eos_token").GetString().Should().Be("<|endoftext|>");
        config.RootElement.GetProperty("bos_token").GetString().Should().Be("<|endoftext|>");
        config.RootElement.GetProperty("pad_token").GetString().Should().Be("<|endoftext|>");

        System.IO.Directory.GetFiles(_fixture.Directory, "*.tmp").Should().BeEmpty();
    }

    [Fact]
    public void Trained_files_round_trip_through_AlmostTokenizer_with_the_reference_ids()
    {
        var tokenizer = AlmostTokenizer.FromFolder(_fixture.Directory);

        tokenizer.VocabSize.Should().Be(700);
        tokenizer.EosTokenId.Should().Be(0);
        tokenizer.BosTokenId.Should().Be(0);
        tokenizer.PadTokenId.Should().Be(0);
        foreach (string text in RoundTripTexts)
        {
            var ids = tokenizer.Encode(text);
            ids.Should().Equal(_fixture.Model.Encode(text), text);
            tokenizer.Decode(ids).Should().Be(text);
        }
    }

    [Fact]
    public void Trainer_rejects_a_vocabulary_smaller_than_the_byte_alphabet()
    {
        var create = () => new BpeTrainer(new BpeTrainerOptions { VocabSize = 200 });

        create.Should().Throw<ArgumentException>();
    }
}
