using System.Text.Json.Nodes;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>The pre_tokenizer of tokenizer.json decides where BPE may merge; each supported shape must be honoured.</summary>
public sealed class PreTokenizerTests : IDisposable
{
    private const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string, string[]> Cases => new()
    {
        // GPT-2 regex: " 1234" is one piece, so the higher-priority "Ġ 1" merge wins.
        { """{ "type": "ByteLevel", "add_prefix_space": false, "use_regex": true }""", ["x", "Ġ1", "2", "3", "4"] },
        // SmolLM: digits split one by one first.
        {
            """{ "type": "Sequence", "pretokenizers": [ { "type": "Digits", "individual_digits": true }, { "type": "ByteLevel", "add_prefix_space": false, "use_regex": true } ] }""",
            ["x", "Ġ", "1", "2", "3", "4"]
        },
        // Llama-3 / Qwen2: a Split regex with groups of up to three digits, then ByteLevel without its own regex.
        {
            $$"""{ "type": "Sequence", "pretokenizers": [ { "type": "Split", "pattern": { "Regex": {{JsonValue.Create(Llama3Pattern).ToJsonString()}} }, "behavior": "Isolated", "invert": false }, { "type": "ByteLevel", "add_prefix_space": false, "use_regex": false } ] }""",
            ["x", "Ġ", "12", "3", "4"]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pre_tokenizer_of_tokenizer_json_is_honoured(string preTokenizerJson, string[] expectedTokens)
    {
        TinyByteLevelBpe.WriteTokenizerJson(_folder, arrayMerges: true);
        string path = Path.Combine(_folder, "tokenizer.json");
        JsonNode root = JsonNode.Parse(File.ReadAllText(path))!;
        root["pre_tokenizer"] = JsonNode.Parse(preTokenizerJson);
        JsonObject vocab = root["model"]!["vocab"]!.AsObject();
        JsonArray merges = root["model"]!["merges"]!.AsArray();
        foreach (var (left, right) in new[] { ("Ġ", "1"), ("1", "2") })
        {
            merges.Add(new JsonArray(left, right));
            vocab[left + right] = TinyByteLevelBpe.ImEnd + merges.Count;
        }

        File.WriteAllText(path, root.ToJsonString());
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(_folder);

        int[] ids = tokenizer.Encode("x 1234");

        ids.Select(id => tokenizer.IdToToken(id)).Should().Equal(expectedTokens);
        tokenizer.Decode(ids).Should().Be("x 1234");
    }

    [Fact]
    public void Unsupported_pre_tokenizer_is_reported_with_its_json_path()
    {
        TinyByteLevelBpe.WriteTokenizerJson(_folder, arrayMerges: true);
        string path = Path.Combine(_folder, "tokenizer.json");
        JsonNode root = JsonNode.Parse(File.ReadAllText(path))!;
        root["pre_tokenizer"] = JsonNode.Parse(
            """{ "type": "Sequence", "pretokenizers": [ { "type": "Punctuation" }, { "type": "ByteLevel" } ] }""");
        File.WriteAllText(path, root.ToJsonString());

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>().WithMessage("*tokenizer.json*'pre_tokenizer.pretokenizers[0].type' is 'Punctuation'*");
    }
}
