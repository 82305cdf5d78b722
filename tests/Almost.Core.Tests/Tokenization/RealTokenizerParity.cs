using System.Text;
using System.Text.Json;
using Almost.Tokenization;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>
/// The parity corpus (<c>Fixtures/tokenizers/corpus.jsonl</c>, written by eng/tokenizer-parity/corpus.js) and, per real
/// tokenizer, the ids, decoded text and BOS-added ids Hugging Face <c>tokenizers</c> 0.22 gives for it
/// (<c>reference.jsonl</c>, written by <c>node eng/tokenizer-parity/parity.js references</c>).
/// </summary>
internal static class RealTokenizerParity
{
    public static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers");

    private static readonly Lazy<string[]> s_corpus = new(() => ReadLines(Path.Combine(Fixtures, "corpus.jsonl"))
        .Select(line => line.GetProperty("text").GetString()!).ToArray());

    public static IReadOnlyList<string> Corpus => s_corpus.Value;

    /// <summary>Llama 3's files are not committed (Meta's licence); the harness fetches them here.</summary>
    public static string Llama3Folder =>
        Environment.GetEnvironmentVariable("ALMOST_LLAMA3_TOKENIZER")
        ?? Path.Combine(RepoRoot() ?? ".", "eng", "tokenizer-parity", ".cache", "llama3");

    public sealed record Reference(int[] Ids, string? Decoded, int[]? WithSpecial);

    public static List<Reference> References(string folder) =>
        ReadLines(Path.Combine(folder, "reference.jsonl")).Select(line => new Reference(
            line.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            line.TryGetProperty("decoded", out JsonElement d) ? d.GetString() : null,
            line.TryGetProperty("special", out JsonElement s) ? s.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null)).ToList();

    /// <summary>
    /// Every corpus string where the tokenizer's ids, decoded text or BOS-added ids differ from Hugging Face's,
    /// described in one line each (at most <paramref name="limit"/>), and the number of identical strings.
    /// </summary>
    public static (int Identical, List<string> Mismatches) Compare(AlmostTokenizer tokenizer, string folder, bool addsBos, int limit = 10)
    {
        List<Reference> references = References(folder);
        if (references.Count != Corpus.Count)
        {
            throw new InvalidDataException($"{folder}/reference.jsonl has {references.Count} lines; the corpus has {Corpus.Count}.");
        }

        int identical = 0;
        var mismatches = new List<string>();
        for (int i = 0; i < Corpus.Count; i++)
        {
            string text = Corpus[i];
            Reference reference = references[i];
            int[] ids = tokenizer.Encode(text);
            string? problem = !ids.SequenceEqual(reference.Ids) ? $"ids [{string.Join(',', ids)}], expected [{string.Join(',', reference.Ids)}]"
                : tokenizer.Decode(ids) is var decoded && decoded != (reference.Decoded ?? text) ? $"decodes to {Show(decoded)}, expected {Show(reference.Decoded ?? text)}"
                : !tokenizer.Encode(text, addBos: addsBos).SequenceEqual(reference.WithSpecial ?? reference.Ids) ? "BOS-added ids differ"
                : null;
            if (problem is null)
            {
                identical++;
            }
            else if (mismatches.Count < limit)
            {
                mismatches.Add($"line {i + 1} {Show(text.Length > 80 ? text[..80] + "…" : text)}: {problem}");
            }
        }

        return (identical, mismatches);
    }

    private static string Show(string s) => JsonSerializer.Serialize(s);

    private static IEnumerable<JsonElement> ReadLines(string path) =>
        File.ReadLines(path, Encoding.UTF8).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone());

    private static string? RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Almost.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}

/// <summary>A fact that runs only when Llama 3's tokenizer files have been fetched by the parity harness.</summary>
public sealed class Llama3FilesFactAttribute : FactAttribute
{
    public Llama3FilesFactAttribute()
    {
        if (!File.Exists(Path.Combine(RealTokenizerParity.Llama3Folder, "reference.jsonl")))
        {
            Skip = $"Llama 3's tokenizer files are not committed (Meta's licence) and are not at {RealTokenizerParity.Llama3Folder}: "
                + "run `npm install && node parity.js references llama3` in eng/tokenizer-parity (or set ALMOST_LLAMA3_TOKENIZER).";
        }
    }
}
