namespace Almost.Synthetic;

/// <summary>Cuts generated text where a stop string begins (a backend that ignores stop strings still gets cut).</summary>
internal static class StopStringCut
{
    /// <summary>The text before the first of <paramref name="stops"/> (all of it when none occurs).</summary>
    public static string CutAtFirst(string text, IEnumerable<string> stops)
    {
        int end = text.Length;
        foreach (string stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && at < end)
            {
                end = at;
            }
        }

        return text[..end];
    }
}
