using System.Text;
using System.Text.RegularExpressions;

namespace Almost.TinyWorld;

/// <summary>
/// The GPT-2 byte-level alphabet: the standard <c>bytes_to_unicode</c> table, which maps each of the 256 byte values to
/// a printable Unicode character (printable ASCII and Latin-1 bytes map to themselves, the rest to U+0100 onwards, so
/// a space becomes <c>Ġ</c>), and the GPT-2 pre-tokenisation regex.
/// </summary>
public static partial class ByteLevelAlphabet
{
    /// <summary>The GPT-2 pre-tokenisation pattern: contractions, words, numbers, punctuation runs and whitespace.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly char[] ByteToChar = BuildTable();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>The character of each byte value (index = byte).</summary>
    public static IReadOnlyList<char> Table => ByteToChar;

    /// <summary>The compiled GPT-2 pre-tokenisation regex.</summary>
    [GeneratedRegex(Gpt2Pattern)]
    public static partial Regex Gpt2Regex();

    /// <summary>Maps text to its UTF-8 bytes, each byte as its alphabet character.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (span, b) =>
        {
            for (int i = 0; i < b.Length; i++)
            {
                span[i] = ByteToChar[b[i]];
            }
        });
    }

    /// <summary>Maps alphabet characters back to bytes and decodes them as UTF-8.</summary>
    /// <exception cref="ArgumentException">A character is not in the alphabet.</exception>
    public static string Decode(string symbols)
    {
        var bytes = new byte[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
        {
            bytes[i] = CharToByte.TryGetValue(symbols[i], out byte b)
                ? b
                : throw new ArgumentException($"Character U+{(int)symbols[i]:X4} is not in the byte-level alphabet.", nameof(symbols));
        }
        return Encoding.UTF8.GetString(bytes);
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var direct = new bool[256];
        foreach (var (from, to) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
        {
            for (int c = from; c <= to; c++)
            {
                direct[c] = true;
                table[c] = (char)c;
            }
        }
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!direct[b])
            {
                table[b] = (char)(256 + n++);
            }
        }
        return table;
    }
}
