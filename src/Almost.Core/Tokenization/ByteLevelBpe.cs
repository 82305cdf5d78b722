using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Almost.Tokenization;

/// <summary>Builds the library's <see cref="BpeTokenizer"/> in byte-level (GPT-2) mode.</summary>
internal static class ByteLevelBpe
{
    /// <summary>GPT-2's pre-tokenizer pattern (the default of Hugging Face's <c>ByteLevel</c> pre-tokenizer).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <param name="vocab">Token (byte-level alphabet) → id.</param>
    /// <param name="merges">Merges in <c>"a b"</c> form, highest priority first.</param>
    /// <param name="matchedTokens">Tokens matched as a whole in text (special and added tokens).</param>
    /// <param name="splitPatterns">Pre-tokenizer regexes applied in order; empty means GPT-2's.</param>
    public static BpeTokenizer Create(
        IReadOnlyDictionary<string, int> vocab,
        IEnumerable<string> merges,
        IReadOnlyDictionary<string, int> matchedTokens,
        IReadOnlyList<string> splitPatterns)
    {
        IReadOnlyDictionary<string, int>? specials = matchedTokens.Count == 0 ? null : matchedTokens;
        IReadOnlyList<string> patterns = splitPatterns.Count == 0 ? [Gpt2Pattern] : splitPatterns;
        PreTokenizer preTokenizer = patterns.Count == 1
            ? new RegexPreTokenizer(new Regex(patterns[0], RegexOptions.Compiled), specials)
            : new CompositePreTokenizer(
                patterns.Select(p => (PreTokenizer)new RegexPreTokenizer(new Regex(p, RegexOptions.Compiled), null)).ToList(),
                specials);

        // Special tokens the vocabulary lacks still need an id ↔ text entry to encode and decode.
        var fullVocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var (token, id) in matchedTokens)
        {
            fullVocab[token] = id;
        }

        return BpeTokenizer.Create(new BpeOptions(fullVocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = preTokenizer,
        });
    }
}
