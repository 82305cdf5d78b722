using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>
/// The <c>pre_tokenizer</c> of a Hugging Face <c>tokenizer.json</c>: <c>Split</c> (regex or string pattern, every
/// behaviour, <c>invert</c>), <c>ByteLevel</c> (<c>add_prefix_space</c>, <c>use_regex</c>), <c>Digits</c>,
/// <c>Metaspace</c> and <c>Sequence</c>, applied as Hugging Face applies them: each step splits every piece the
/// previous step produced. Regexes match code points (<see cref="CodePointRegex"/>).
/// </summary>
/// <remarks>
/// The library's <see cref="Microsoft.ML.Tokenizers.PreTokenizer"/> contract is a list of offsets into the input, which
/// cannot express <c>ByteLevel</c>'s prefix space or <c>Metaspace</c>'s replacement, so pieces are strings here.
/// </remarks>
internal sealed class HfPreTokenizer
{
    private enum Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    private delegate void Step(string piece, bool atTextStart, List<string> output);

    /// <summary>GPT-2's pattern, the one Hugging Face's <c>ByteLevel</c> pre-tokenizer splits with (<c>use_regex</c>).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly CodePointRegex s_gpt2 = new(Gpt2Pattern);
    private static readonly CodePointRegex s_numeric = new(@"\p{N}");

    private readonly List<Step> _steps;

    private HfPreTokenizer(List<Step> steps) => _steps = steps;

    /// <summary>GPT-2's pre-tokenizer (a <c>ByteLevel</c> step with its regex), for vocab.json + merges.txt.</summary>
    public static HfPreTokenizer Gpt2 { get; } = new([ByteLevel(addPrefixSpace: false, useRegex: true)]) { IsGpt2 = true };

    /// <summary>
    /// Whether this is exactly GPT-2's pre-tokenizer: one <c>ByteLevel</c> step with its regex and no prefix space
    /// (what llama.cpp calls the <c>gpt-2</c> pre-tokenizer).
    /// </summary>
    public bool IsGpt2 { get; private init; }

    /// <summary>Whether a <c>ByteLevel</c> step (or decoder) was seen: the model then works on UTF-8 bytes.</summary>
    public bool IsByteLevel { get; private init; }

    public static HfPreTokenizer Parse(JsonElement? element, string path, string jsonPath)
    {
        var steps = new List<Step>();
        bool byteLevel = false;
        bool gpt2 = false;
        if (element is JsonElement value)
        {
            AddSteps(value, path, jsonPath, steps, ref byteLevel);
            gpt2 = steps.Count == 1 && HfJson.OptionalString(value, "type", path, jsonPath + ".type") == "ByteLevel"
                   && HfJson.Property(value, "add_prefix_space") is not { ValueKind: JsonValueKind.True }
                   && HfJson.Property(value, "use_regex") is not { ValueKind: JsonValueKind.False };
        }

        return new HfPreTokenizer(steps) { IsByteLevel = byteLevel, IsGpt2 = gpt2 };
    }

    /// <summary>Splits one piece of text between added tokens.</summary>
    /// <param name="text">The normalized text.</param>
    /// <param name="atTextStart">Whether it starts the whole input (Metaspace's <c>prepend_scheme: first</c>).</param>
    /// <param name="pieces">Receives the pieces, in order.</param>
    public void Split(string text, bool atTextStart, List<string> pieces)
    {
        if (_steps.Count == 0)
        {
            pieces.Add(text);
            return;
        }

        var current = new List<string> { text };
        var next = new List<string>();
        foreach (Step step in _steps)
        {
            next.Clear();
            for (int i = 0; i < current.Count; i++)
            {
                step(current[i], atTextStart && i == 0, next);
            }

            (current, next) = (next, current);
        }

        pieces.AddRange(current);
    }

    private static void AddSteps(JsonElement step, string path, string jsonPath, List<Step> steps, ref bool byteLevel)
    {
        string? type = HfJson.OptionalString(step, "type", path, jsonPath + ".type");
        switch (type)
        {
            case "Sequence":
                foreach (var (inner, innerPath) in HfJson.SequenceItems(step, "pretokenizers", path, jsonPath))
                {
                    AddSteps(inner, path, innerPath, steps, ref byteLevel);
                }

                return;

            case "ByteLevel":
                byteLevel = true;
                steps.Add(ByteLevel(
                    HfJson.Property(step, "add_prefix_space") is { ValueKind: JsonValueKind.True },
                    HfJson.Property(step, "use_regex") is not { ValueKind: JsonValueKind.False }));
                return;

            case "Split":
                steps.Add(SplitStep(step, path, jsonPath));
                return;

            case "Digits":
                bool individual = HfJson.Property(step, "individual_digits") is { ValueKind: JsonValueKind.True };
                var behavior = individual ? Behavior.Isolated : Behavior.Contiguous;
                steps.Add((piece, _, output) => SplitBy(s_numeric, piece, behavior, invert: false, output));
                return;

            case "Metaspace":
                steps.Add(MetaspaceStep(step, path, jsonPath));
                return;

            default:
                throw new TokenizerLoadException(path,
                    $"field '{jsonPath}.type' is '{type}'; supported pre-tokenizers are ByteLevel, Split, Digits, Metaspace and Sequence.");
        }
    }

    private static Step ByteLevel(bool addPrefixSpace, bool useRegex) => (piece, _, output) =>
    {
        string text = addPrefixSpace && !piece.StartsWith(' ') ? " " + piece : piece;
        if (useRegex)
        {
            SplitBy(s_gpt2, text, Behavior.Isolated, invert: false, output);
        }
        else if (text.Length > 0)
        {
            output.Add(text);
        }
    };

    private static Step SplitStep(JsonElement step, string path, string jsonPath)
    {
        JsonElement pattern = HfJson.RequireObject(HfJson.Property(step, "pattern"), path, jsonPath + ".pattern");
        string regex = HfJson.OptionalString(pattern, "Regex", path, jsonPath + ".pattern.Regex")
            ?? (HfJson.OptionalString(pattern, "String", path, jsonPath + ".pattern.String") is string literal
                ? System.Text.RegularExpressions.Regex.Escape(literal)
                : throw new TokenizerLoadException(path, $"field '{jsonPath}.pattern' must have a 'Regex' or a 'String'."));
        string behaviorName = HfJson.OptionalString(step, "behavior", path, jsonPath + ".behavior") ?? "Isolated";
        if (!Enum.TryParse(behaviorName, out Behavior behavior))
        {
            throw new TokenizerLoadException(path,
                $"field '{jsonPath}.behavior' is '{behaviorName}'; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous.");
        }

        bool invert = HfJson.Property(step, "invert") is { ValueKind: JsonValueKind.True };
        var compiled = new CodePointRegex(regex);
        return (piece, _, output) => SplitBy(compiled, piece, behavior, invert, output);
    }

    private static Step MetaspaceStep(JsonElement step, string path, string jsonPath)
    {
        string replacement = HfJson.OptionalString(step, "replacement", path, jsonPath + ".replacement") ?? "▁";
        string scheme = HfJson.OptionalString(step, "prepend_scheme", path, jsonPath + ".prepend_scheme")
            ?? (HfJson.Property(step, "add_prefix_space") is { ValueKind: JsonValueKind.False } ? "never" : "always");
        if (scheme is not ("always" or "first" or "never"))
        {
            throw new TokenizerLoadException(path, $"field '{jsonPath}.prepend_scheme' is '{scheme}'; expected always, first or never.");
        }

        bool split = HfJson.Property(step, "split") is not { ValueKind: JsonValueKind.False };
        var splitter = new CodePointRegex(System.Text.RegularExpressions.Regex.Escape(replacement));
        return (piece, atTextStart, output) =>
        {
            string text = piece.Replace(" ", replacement, StringComparison.Ordinal);
            if ((scheme == "always" || (scheme == "first" && atTextStart)) && !text.StartsWith(replacement, StringComparison.Ordinal))
            {
                text = replacement + text;
            }

            if (split)
            {
                SplitBy(splitter, text, Behavior.MergedWithNext, invert: false, output);
            }
            else if (text.Length > 0)
            {
                output.Add(text);
            }
        };
    }

    /// <summary>Hugging Face's <c>NormalizedString::split</c>: the matches and the text between them, then the behaviour.</summary>
    private static void SplitBy(CodePointRegex regex, string text, Behavior behavior, bool invert, List<string> output)
    {
        if (text.Length == 0)
        {
            return;
        }

        var parts = new List<(int Start, int End, bool IsMatch)>();
        int previous = 0;
        foreach (var (start, length) in regex.Matches(text))
        {
            if (length == 0)
            {
                continue;
            }

            if (start > previous)
            {
                parts.Add((previous, start, invert));
            }

            parts.Add((start, start + length, !invert));
            previous = start + length;
        }

        if (previous < text.Length)
        {
            parts.Add((previous, text.Length, invert));
        }

        var merged = new List<(int Start, int End, bool IsMatch)>(parts.Count);
        switch (behavior)
        {
            case Behavior.Isolated:
                merged = parts;
                break;
            case Behavior.Removed:
                merged.AddRange(parts.Where(p => !p.IsMatch));
                break;
            case Behavior.Contiguous:
                foreach (var part in parts)
                {
                    if (merged.Count > 0 && merged[^1].IsMatch == part.IsMatch)
                    {
                        merged[^1] = (merged[^1].Start, part.End, part.IsMatch);
                    }
                    else
                    {
                        merged.Add(part);
                    }
                }

                break;
            case Behavior.MergedWithPrevious:
                bool previousMatch = false;
                foreach (var part in parts)
                {
                    if (part.IsMatch && !previousMatch && merged.Count > 0)
                    {
                        merged[^1] = (merged[^1].Start, part.End, merged[^1].IsMatch);
                    }
                    else
                    {
                        merged.Add(part);
                    }

                    previousMatch = part.IsMatch;
                }

                break;
            case Behavior.MergedWithNext:
                bool nextMatch = false;
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var part = parts[i];
                    if (part.IsMatch && !nextMatch && merged.Count > 0)
                    {
                        merged[^1] = (part.Start, merged[^1].End, merged[^1].IsMatch);
                    }
                    else
                    {
                        merged.Add(part);
                    }

                    nextMatch = part.IsMatch;
                }

                merged.Reverse();
                break;
        }

        foreach (var (start, end, _) in merged)
        {
            if (end > start)
            {
                output.Add(text[start..end]);
            }
        }
    }
}
