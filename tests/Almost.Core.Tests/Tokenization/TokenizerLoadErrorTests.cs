using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

public sealed class TokenizerLoadErrorTests : IDisposable
{
    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string file) => Path.Combine(_folder, file);

    [Fact]
    public void Empty_folder_names_the_folder_and_the_expected_files()
    {
        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>()
            .Where(e => e.Path == _folder)
            .WithMessage($"{_folder}*tokenizer.json*vocab.json + merges.txt*tokenizer.model*");
    }

    [Fact]
    public void Missing_folder_is_reported()
    {
        string missing = PathOf("nope");
        Action load = () => AlmostTokenizer.FromFolder(missing);

        load.Should().Throw<TokenizerLoadException>().WithMessage($"{missing}*does not exist*");
    }

    [Fact]
    public void Vocab_without_merges_says_which_file_is_missing()
    {
        TinyByteLevelBpe.WriteVocabAndMerges(_folder);
        File.Delete(PathOf("merges.txt"));

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage("*merges.txt is missing*");
    }

    [Fact]
    public void Bad_json_in_tokenizer_json_names_the_file_and_line()
    {
        File.WriteAllText(PathOf("tokenizer.json"), "{\n  \"model\": {\n    \"type\": \"BPE\",\n    \"vocab\": { \"a\": 0, }\n  \n");

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>()
            .WithMessage($"{PathOf("tokenizer.json")}*not valid JSON at line *");
    }

    [Theory]
    [InlineData("Unigram")]
    [InlineData("WordPiece")]
    public void Unsupported_model_type_names_the_file_and_the_field(string type)
    {
        TinyByteLevelBpe.WriteTokenizerJson(_folder, arrayMerges: true, modelType: type);

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>()
            .WithMessage($"{PathOf("tokenizer.json")}*'model.type' is '{type}'*");
    }

    [Fact]
    public void Malformed_merges_line_is_reported_with_its_number()
    {
        TinyByteLevelBpe.WriteVocabAndMerges(_folder);
        File.WriteAllLines(PathOf("merges.txt"), ["#version: 0.2", "H e", "l l x"]);

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage($"{PathOf("merges.txt")}*line 3*");
    }

    [Fact]
    public void Merge_in_tokenizer_json_of_the_wrong_shape_names_the_json_path()
    {
        TinyByteLevelBpe.WriteTokenizerJson(_folder, arrayMerges: true);
        string text = File.ReadAllText(PathOf("tokenizer.json")).Replace("\"merges\":[[", "\"merges\":[42,[");
        File.WriteAllText(PathOf("tokenizer.json"), text);

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage("*tokenizer.json*'model.merges[0]'*");
    }

    [Fact]
    public void Wrongly_typed_special_token_in_config_names_the_field()
    {
        TinyByteLevelBpe.WriteVocabAndMerges(_folder);
        File.WriteAllText(PathOf("tokenizer_config.json"), """{ "bos_token": 17 }""");

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage($"{PathOf("tokenizer_config.json")}*'bos_token'*");
    }

    [Fact]
    public void Special_token_missing_from_the_vocabulary_is_reported()
    {
        TinyByteLevelBpe.WriteVocabAndMerges(_folder);
        File.WriteAllText(PathOf("tokenizer_config.json"), """{ "eos_token": "</s>" }""");

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage("*vocab.json*'</s>'*");
    }

    [Fact]
    public void Corrupt_sentencepiece_model_names_the_file()
    {
        File.WriteAllBytes(PathOf("tokenizer.model"), [0x0A, 0xFF, 0xFF, 0x00, 0x13, 0x37]);

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>()
            .WithMessage($"{PathOf("tokenizer.model")}*not a valid SentencePiece model*");
    }

    [Fact]
    public void Explicit_factories_report_missing_files()
    {
        Action json = () => TokenizerLoader.FromHuggingFaceJson(PathOf("tokenizer.json"));
        Action model = () => TokenizerLoader.FromSentencePiece(PathOf("tokenizer.model"));

        json.Should().Throw<TokenizerLoadException>().WithMessage("*tokenizer.json: file not found*");
        model.Should().Throw<TokenizerLoadException>().WithMessage("*tokenizer.model: file not found*");
    }

    [Fact]
    public void Unknown_tiktoken_model_is_reported()
    {
        Action load = () => TokenizerLoader.FromTiktoken("no-such-model");

        load.Should().Throw<TokenizerLoadException>().WithMessage("no-such-model*data package*");
    }
}
