using System.Globalization;
using System.Text.RegularExpressions;

namespace Almost.Tokenization;

/// <summary>
/// A pre-tokenizer regex that matches code points, as Hugging Face's (Oniguruma) engine does, instead of UTF-16
/// units. .NET's <see cref="Regex"/> sees a character outside the Basic Multilingual Plane as two surrogates, so
/// <c>\p{L}</c> and <c>\p{N}</c> miss mathematical letters, historic scripts' digits and the like, and
/// <c>\p{N}{1,3}</c> would count a surrogate pair as two. Before matching, each such character is replaced by one
/// BMP stand-in of the same Unicode general category (so every <c>\p{..}</c>, <c>\s</c> and negated class says the
/// same about it), and match positions are mapped back to the original text.
/// </summary>
internal sealed class CodePointRegex
{
    private readonly Regex _regex;

    public CodePointRegex(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }

    /// <summary>The matches in <paramref name="text"/> as (start, length) in UTF-16 units of the original text.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (ValueMatch match in _regex.EnumerateMatches(text))
            {
                result.Add((match.Index, match.Length));
            }

            return result;
        }

        // offsets[i] is where the i-th code point of the stand-in text starts in the original; offsets[^1] its end.
        var standIn = new char[text.Length];
        var offsets = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; n++)
        {
            offsets[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                standIn[n] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i += 2;
            }
            else
            {
                // A lone surrogate is not text; Hugging Face never sees one (it would be U+FFFD there).
                standIn[n] = char.IsSurrogate(text[i]) ? '\uFFFD' : text[i];
                i++;
            }
        }

        offsets[n] = text.Length;
        foreach (ValueMatch match in _regex.EnumerateMatches(standIn.AsSpan(0, n)))
        {
            int start = offsets[match.Index];
            result.Add((start, offsets[match.Index + match.Length] - start));
        }

        return result;
    }

    /// <summary>
    /// A BMP character of the given category that no pre-tokenizer pattern names literally and that has no case
    /// mapping to an ASCII letter (so <c>(?i:'s)</c> cannot match it).
    /// </summary>
    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u2C00',         // Ⰰ Glagolitic capital
        UnicodeCategory.LowercaseLetter => '\u2C30',         // ⰰ Glagolitic small
        UnicodeCategory.TitlecaseLetter => '\u1F88',         // ᾈ
        UnicodeCategory.ModifierLetter => '\u02B0',          // ʰ
        UnicodeCategory.OtherLetter => '\u4E00',             // 一
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',      // ٠
        UnicodeCategory.LetterNumber => '\u16EE',            // ᛮ
        UnicodeCategory.OtherNumber => '\u00B2',             // ²
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u203B',
        UnicodeCategory.MathSymbol => '\u2200',
        UnicodeCategory.CurrencySymbol => '\u20A0',
        UnicodeCategory.ModifierSymbol => '\u02C5',
        UnicodeCategory.OtherSymbol => '\u25A0',
        UnicodeCategory.Format => '\u2060',
        UnicodeCategory.PrivateUse => '\uE000',
        _ => '\uFFFF',                                       // unassigned
    };
}
