using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Almost.Tokenization;

/// <summary>
/// The <c>normalizer</c> of a Hugging Face <c>tokenizer.json</c> as the library's <see cref="Normalizer"/> hook:
/// <c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>, <c>Lowercase</c>, <c>Prepend</c>, <c>Replace</c> (string or regex
/// pattern), <c>Strip</c> and <c>Sequence</c> of these. Like Hugging Face, it runs on each piece of text between
/// added tokens, so a <c>Prepend("▁")</c> also applies after a special token.
/// </summary>
internal sealed class HfNormalizer : Normalizer
{
    private readonly List<Func<string, string>> _steps;

    private HfNormalizer(List<Func<string, string>> steps) => _steps = steps;

    /// <summary>The normalizer described at <paramref name="jsonPath"/>, or null when it is null or missing.</summary>
    public static HfNormalizer? Parse(JsonElement? element, string path, string jsonPath)
    {
        if (element is null)
        {
            return null;
        }

        var steps = new List<Func<string, string>>();
        AddSteps(element.Value, path, jsonPath, steps);
        return steps.Count == 0 ? null : new HfNormalizer(steps);
    }

    /// <summary>
    /// What a SentencePiece model with the identity normalizer does to the text between special tokens, as Hugging
    /// Face's LLaMA converter writes it: optionally trim and collapse runs of spaces (<c>remove_extra_whitespaces</c>),
    /// prepend <c>"▁"</c> (<c>add_dummy_prefix</c>) and write every space as <c>"▁"</c>.
    /// </summary>
    public static HfNormalizer SentencePiece(bool addDummyPrefix, bool removeExtraWhitespaces)
    {
        var steps = new List<Func<string, string>>();
        if (removeExtraWhitespaces)
        {
            var runs = new Regex(" {2,}", RegexOptions.CultureInvariant);
            steps.Add(s => runs.Replace(s.Trim(' '), " "));
        }

        if (addDummyPrefix)
        {
            steps.Add(s => s.Length == 0 ? s : "▁" + s);
        }

        steps.Add(s => s.Replace(' ', '▁'));
        return new HfNormalizer(steps);
    }

    public override string Normalize(string original)
    {
        string text = original;
        foreach (Func<string, string> step in _steps)
        {
            text = step(text);
        }

        return text;
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    private static void AddSteps(JsonElement step, string path, string jsonPath, List<Func<string, string>> steps)
    {
        string type = HfJson.OptionalString(step, "type", path, jsonPath + ".type")
            ?? throw new TokenizerLoadException(path, $"field '{jsonPath}.type' is missing.");
        switch (type)
        {
            case "Sequence":
                foreach (var (inner, innerPath) in HfJson.SequenceItems(step, "normalizers", path, jsonPath))
                {
                    AddSteps(inner, path, innerPath, steps);
                }

                break;
            case "NFC" or "NFD" or "NFKC" or "NFKD":
                NormalizationForm form = type switch
                {
                    "NFC" => NormalizationForm.FormC,
                    "NFD" => NormalizationForm.FormD,
                    "NFKC" => NormalizationForm.FormKC,
                    _ => NormalizationForm.FormKD,
                };
                RequireUnicodeNormalization(path, jsonPath);
                steps.Add(s => s.IsNormalized(form) ? s : s.Normalize(form));
                break;
            case "Lowercase":
                steps.Add(s => s.ToLowerInvariant());
                break;
            case "Prepend":
                string prepend = HfJson.OptionalString(step, "prepend", path, jsonPath + ".prepend")
                    ?? throw new TokenizerLoadException(path, $"field '{jsonPath}.prepend' is missing.");
                steps.Add(s => s.Length == 0 ? s : prepend + s);
                break;
            case "Replace":
                steps.Add(ReplaceStep(step, path, jsonPath));
                break;
            case "Strip":
                bool left = HfJson.Property(step, "strip_left") is not { ValueKind: JsonValueKind.False };
                bool right = HfJson.Property(step, "strip_right") is not { ValueKind: JsonValueKind.False };
                steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                break;
            default:
                throw new TokenizerLoadException(path,
                    $"field '{jsonPath}.type' is '{type}'; supported normalizers are NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip and Sequence.");
        }
    }

    /// <summary>
    /// .NET normalizes through ICU; with <c>InvariantGlobalization</c> on, <see cref="string.Normalize(NormalizationForm)"/>
    /// silently returns non-ASCII text unchanged, which would give other ids than the model was trained with.
    /// </summary>
    private static void RequireUnicodeNormalization(string path, string jsonPath)
    {
        if ("e\u0301".Normalize(NormalizationForm.FormC) != "\u00E9")
        {
            throw new TokenizerLoadException(path,
                $"field '{jsonPath}' asks for Unicode normalization, which this process cannot do: it runs with "
                + "InvariantGlobalization (no ICU). Turn InvariantGlobalization off or install ICU (libicu).");
        }
    }

    /// <summary>A <c>Replace</c> step: <c>{"pattern": {"String": ...} | {"Regex": ...}, "content": ...}</c>.</summary>
    public static Func<string, string> ReplaceStep(JsonElement step, string path, string jsonPath)
    {
        string content = HfJson.OptionalString(step, "content", path, jsonPath + ".content")
            ?? throw new TokenizerLoadException(path, $"field '{jsonPath}.content' is missing.");
        JsonElement pattern = HfJson.RequireObject(HfJson.Property(step, "pattern"), path, jsonPath + ".pattern");
        if (HfJson.OptionalString(pattern, "String", path, jsonPath + ".pattern.String") is string literal)
        {
            return s => s.Replace(literal, content, StringComparison.Ordinal);
        }

        if (HfJson.OptionalString(pattern, "Regex", path, jsonPath + ".pattern.Regex") is string regex)
        {
            var compiled = new Regex(regex, RegexOptions.CultureInvariant);
            return s => compiled.Replace(s, content.Replace("$", "$$", StringComparison.Ordinal));
        }

        throw new TokenizerLoadException(path, $"field '{jsonPath}.pattern' must have a 'String' or a 'Regex'.");
    }
}
