using System.Text.Json;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> gives the ids of the tokenizer.json Hugging Face converted from it: here a
/// model is written back from Mistral's tokenizer.json (pieces in id order; a piece's score is minus the rank of its
/// first merge, which is how the converter ordered the merges) and checked against Hugging Face's ids for the whole
/// parity corpus.
/// </summary>
public sealed class SentencePieceModelParityTests : IDisposable
{
    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Mistral_tokenizer_model_gives_hugging_face_ids_on_the_whole_corpus()
    {
        string mistral = Path.Combine(RealTokenizerParity.Fixtures, "mistral");
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(mistral, "tokenizer.json")));
        JsonElement model = json.RootElement.GetProperty("model");
        var firstMerge = new Dictionary<string, int>();
        int rank = 0;
        foreach (JsonElement merge in model.GetProperty("merges").EnumerateArray())
        {
            firstMerge.TryAdd(merge.GetString()!.Replace(" ", string.Empty, StringComparison.Ordinal), rank++);
        }

        var pieces = model.GetProperty("vocab").EnumerateObject()
            .Select(p => (Piece: p.Name, Id: p.Value.GetInt32()))
            .OrderBy(p => p.Id)
            .Select(p => (p.Piece, Score: p.Id < 259 ? 0f : -firstMerge.GetValueOrDefault(p.Piece, 1_000_000 + p.Id), Type: p.Id switch
            {
                0 => SentencePieceModelWriter.Unknown,
                1 or 2 => SentencePieceModelWriter.Control,
                < 259 => SentencePieceModelWriter.Byte,
                _ => SentencePieceModelWriter.Normal,
            }));
        File.WriteAllBytes(Path.Combine(_folder, "tokenizer.model"),
            SentencePieceModelWriter.Write(pieces, SentencePieceModelWriter.Bpe, byteFallback: true, removeExtraWhitespaces: false));
        File.Copy(Path.Combine(mistral, "tokenizer_config.json"), Path.Combine(_folder, "tokenizer_config.json"));

        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(_folder);
        var (identical, mismatches) = RealTokenizerParity.Compare(tokenizer, mistral, addsBos: true);

        tokenizer.Format.Should().Be(TokenizerFormat.SentencePiece);
        mismatches.Should().BeEmpty();
        identical.Should().Be(RealTokenizerParity.Corpus.Count);
    }
}
