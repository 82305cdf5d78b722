using System.Text;
using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>
/// The <c>decoder</c> of a Hugging Face <c>tokenizer.json</c>: token strings → text, through <c>ByteLevel</c>,
/// <c>Replace</c>, <c>ByteFallback</c>, <c>Fuse</c>, <c>Strip</c>, <c>Metaspace</c> and <c>Sequence</c> steps, each
/// mapping the list of tokens as Hugging Face's <c>decode_chain</c> does. Without a decoder, tokens are joined with
/// spaces, as Hugging Face does.
/// </summary>
internal sealed class HfDecoder
{
    private readonly List<Func<List<string>, List<string>>>? _steps;

    private HfDecoder(List<Func<List<string>, List<string>>>? steps) => _steps = steps;

    /// <summary>GPT-2's decoder: byte-level.</summary>
    public static HfDecoder ByteLevel { get; } = new([ByteLevelStep]);

    /// <summary>A SentencePiece BPE model's decoder as Hugging Face's LLaMA converter writes it.</summary>
    public static HfDecoder SentencePiece(bool stripLeadingSpace) => new(
    [
        tokens => tokens.ConvertAll(t => t.Replace('▁', ' ')),
        ByteFallbackStep,
        tokens => [string.Concat(tokens)],
        tokens => stripLeadingSpace ? tokens.ConvertAll(t => Strip(t, " ", 1, 0)) : tokens,
    ]);

    public static HfDecoder Parse(JsonElement? element, string path, string jsonPath)
    {
        if (element is not JsonElement value)
        {
            return new HfDecoder(null);
        }

        var steps = new List<Func<List<string>, List<string>>>();
        AddSteps(value, path, jsonPath, steps);
        return new HfDecoder(steps);
    }

    public string Decode(List<string> tokens)
    {
        if (_steps is null)
        {
            return string.Join(' ', tokens);
        }

        foreach (var step in _steps)
        {
            tokens = step(tokens);
        }

        return string.Concat(tokens);
    }

    private static void AddSteps(JsonElement step, string path, string jsonPath, List<Func<List<string>, List<string>>> steps)
    {
        string? type = HfJson.OptionalString(step, "type", path, jsonPath + ".type");
        switch (type)
        {
            case "Sequence":
                foreach (var (inner, innerPath) in HfJson.SequenceItems(step, "decoders", path, jsonPath))
                {
                    AddSteps(inner, path, innerPath, steps);
                }

                break;
            case "ByteLevel":
                steps.Add(ByteLevelStep);
                break;
            case "Replace":
                Func<string, string> replace = HfNormalizer.ReplaceStep(step, path, jsonPath);
                steps.Add(tokens => tokens.ConvertAll(t => replace(t)));
                break;
            case "ByteFallback":
                steps.Add(ByteFallbackStep);
                break;
            case "Fuse":
                steps.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
                string content = HfJson.OptionalString(step, "content", path, jsonPath + ".content") ?? " ";
                int start = Count(step, "start", path, jsonPath);
                int stop = Count(step, "stop", path, jsonPath);
                steps.Add(tokens => tokens.ConvertAll(t => Strip(t, content, start, stop)));
                break;
            case "Metaspace":
                string replacement = HfJson.OptionalString(step, "replacement", path, jsonPath + ".replacement") ?? "▁";
                string scheme = HfJson.OptionalString(step, "prepend_scheme", path, jsonPath + ".prepend_scheme")
                    ?? (HfJson.Property(step, "add_prefix_space") is { ValueKind: JsonValueKind.False } ? "never" : "always");
                steps.Add(tokens => tokens.Select((t, index) =>
                {
                    string text = t.Replace(replacement, " ", StringComparison.Ordinal);
                    return index == 0 && scheme != "never" && text.StartsWith(' ') ? text[1..] : text;
                }).ToList());
                break;
            default:
                throw new TokenizerLoadException(path,
                    $"field '{jsonPath}.type' is '{type}'; supported decoders are ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence.");
        }
    }

    private static int Count(JsonElement step, string name, string path, string jsonPath) =>
        HfJson.Property(step, name) is JsonElement value ? HfJson.RequireInt(value, path, $"{jsonPath}.{name}") : 0;

    /// <summary>
    /// All tokens' bytes joined, then read as UTF-8 with invalid sequences replaced. A token with a character
    /// outside the byte-level alphabet (an added token such as <c>&lt;|im_start|&gt;</c> is inside it) counts as its
    /// own UTF-8 bytes.
    /// </summary>
    private static List<string> ByteLevelStep(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string token in tokens)
        {
            if (ByteLevelAlphabet.TryDecodeBytes(token, bytes))
            {
                continue;
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }

        return [Encoding.UTF8.GetString([.. bytes])];
    }

    /// <summary>Runs of <c>&lt;0xXX&gt;</c> tokens become their UTF-8 text, or one U+FFFD per byte when invalid.</summary>
    private static List<string> ByteFallbackStep(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }

            try
            {
                result.Add(strict.GetString([.. pending]));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
            }

            pending.Clear();
        }

        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                pending.Add(b);
                continue;
            }

            Flush();
            result.Add(token);
        }

        Flush();
        return result;
    }

    private static string Strip(string token, string content, int start, int stop)
    {
        int from = 0;
        while (from < start && from < token.Length && token.AsSpan(from).StartsWith(content, StringComparison.Ordinal) && content.Length == 1)
        {
            from++;
        }

        int to = token.Length;
        int stripped = 0;
        while (stripped < stop && to > from && content.Length == 1 && token[to - 1] == content[0])
        {
            to--;
            stripped++;
        }

        return token[from..to];
    }
}
