using System.Text;

namespace Almost.Tokenization;

/// <summary>
/// The GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable character (a space byte
/// becomes <c>'Ġ'</c>, a newline <c>'Ċ'</c>), so byte-level BPE tokens can be stored as text in <c>vocab.json</c>
/// and <c>merges.txt</c>. A BPE trainer uses it to write vocabularies that <see cref="TokenizerLoader"/> and Hugging
/// Face <c>tokenizers</c> read back.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> s_charToByte =
        Enumerable.Range(0, 256).ToDictionary(b => s_byteToChar[b], b => (byte)b);

    /// <summary>The 256 alphabet characters, indexed by byte value.</summary>
    public static IReadOnlyList<char> Characters => s_byteToChar;

    /// <summary>Maps text to the byte-level alphabet: UTF-8 encode, then one character per byte.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The byte-level form, e.g. <c>" world"</c> → <c>"Ġworld"</c>.</returns>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Maps bytes to the byte-level alphabet, one character per byte.</summary>
    /// <param name="bytes">Raw bytes (not necessarily valid UTF-8).</param>
    /// <returns>The byte-level string.</returns>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = s_byteToChar[bytes[i]];
        }

        return new string(chars);
    }

    /// <summary>Maps a byte-level string back to its bytes.</summary>
    /// <param name="token">A string over the byte-level alphabet.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="ArgumentException">A character is not in the alphabet.</exception>
    public static byte[] DecodeBytes(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!s_charToByte.TryGetValue(token[i], out bytes[i]))
            {
                throw new ArgumentException(
                    $"Character U+{(int)token[i]:X4} at index {i} is not in the byte-level alphabet.", nameof(token));
            }
        }

        return bytes;
    }

    /// <summary>Appends the bytes of a byte-level string; false (and nothing appended) when a character is outside the alphabet.</summary>
    internal static bool TryDecodeBytes(string token, List<byte> bytes)
    {
        int start = bytes.Count;
        foreach (char c in token)
        {
            if (!s_charToByte.TryGetValue(c, out byte b))
            {
                bytes.RemoveRange(start, bytes.Count - start);
                return false;
            }

            bytes.Add(b);
        }

        return true;
    }

    private static char[] BuildByteToChar()
    {
        // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100 upwards.
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
