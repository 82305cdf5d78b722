namespace Almost.Generation;

/// <summary>
/// The part of one streamed sample's text already handed out, and the rule for how much more may go: never a
/// character whose bytes are not all decoded yet, never a tail that could still grow into a stop string.
/// </summary>
/// <remarks>
/// The text is re-decoded from all of the sample's tokens each step, so a character split across tokens needs no
/// byte bookkeeping here. Decoders replace an incomplete UTF-8 sequence at the end with U+FFFD, which the next
/// token may turn into the real character, so trailing U+FFFDs wait. A U+FFFD that stays one (invalid bytes) goes
/// out as soon as text follows it, or when the sample ends.
/// </remarks>
internal sealed class StreamedText(IReadOnlyList<string> stopStrings)
{
    /// <summary>Characters handed out so far.</summary>
    public int SentChars { get; private set; }

    /// <summary>Tokens handed out so far.</summary>
    public int SentTokens { get; set; }

    /// <summary>Whether the sample's last delta has gone out.</summary>
    public bool Finished { get; private set; }

    /// <summary>The new text that is safe to hand out, given the decode of all the sample's tokens so far.</summary>
    public string Advance(string text)
    {
        var end = SafeLength(text, stopStrings);
        if (end <= SentChars)
        {
            return string.Empty;
        }

        var delta = text[SentChars..end];
        SentChars = end;
        return delta;
    }

    /// <summary>Everything not handed out yet of the sample's final text (cut before a stop string).</summary>
    public string Finish(string finalText)
    {
        Finished = true;
        var delta = SentChars < finalText.Length ? finalText[SentChars..] : string.Empty;
        SentChars = finalText.Length;
        return delta;
    }

    /// <summary>
    /// Length of the prefix of <paramref name="text"/> that later tokens cannot change: without trailing U+FFFDs (or a
    /// lone high surrogate), then without the longest tail that is a proper prefix of a stop string.
    /// </summary>
    internal static int SafeLength(string text, IReadOnlyList<string> stopStrings)
    {
        var end = text.Length;
        while (end > 0 && text[end - 1] == '\uFFFD')
        {
            end--;
        }

        var held = 0;
        foreach (var stop in stopStrings)
        {
            // A tail equal to a whole stop string cannot be here: the row would have finished.
            for (var k = Math.Min(stop.Length - 1, end); k > held; k--)
            {
                if (text.AsSpan(end - k, k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    held = k;
                    break;
                }
            }
        }

        end -= held;
        if (end > 0 && char.IsHighSurrogate(text[end - 1]))
        {
            end--;
        }

        return end;
    }
}
