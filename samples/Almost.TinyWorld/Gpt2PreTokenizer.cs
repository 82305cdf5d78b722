using System.Text.RegularExpressions;

namespace Almost.TinyWorld;

/// <summary>
/// GPT-2's pre-tokenisation regex (contractions, words, numbers, punctuation runs, whitespace), the split the BPE
/// trainer and its reference encoder use. Core applies the same pattern inside Microsoft.ML.Tokenizers when it loads
/// the saved files, but does not expose it.
/// </summary>
internal static partial class Gpt2PreTokenizer
{
    /// <summary>The pattern (Hugging Face <c>ByteLevel</c> pre-tokenizer's default).</summary>
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The compiled pattern.</summary>
    [GeneratedRegex(Pattern)]
    public static partial Regex Regex();
}
