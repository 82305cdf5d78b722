using System.Text.Json;

namespace Almost.Tokenization;

/// <summary>
/// The special tokens a Hugging Face folder declares in <c>tokenizer_config.json</c> (which wins) and
/// <c>special_tokens_map.json</c>: <c>bos_token</c>, <c>eos_token</c>, <c>pad_token</c>, <c>unk_token</c> (each a
/// string or an object with <c>content</c>), <c>additional_special_tokens</c> and <c>added_tokens_decoder</c>.
/// </summary>
internal sealed class SpecialTokenConfig
{
    public const string ConfigFileName = "tokenizer_config.json";
    public const string SpecialTokensMapFileName = "special_tokens_map.json";

    public string? Bos { get; private set; }
    public string? Eos { get; private set; }
    public string? Pad { get; private set; }
    public string? Unk { get; private set; }

    /// <summary>The Jinja source of <c>chat_template</c> (the "default" one when it is a list of named templates).</summary>
    public string? ChatTemplate { get; private set; }

    /// <summary>Tokens from <c>added_tokens_decoder</c>: content → (id, special).</summary>
    public Dictionary<string, (int Id, bool Special)> AddedTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>Names of <c>additional_special_tokens</c>.</summary>
    public List<string> AdditionalSpecialTokens { get; } = [];

    /// <summary>The named special tokens that are set.</summary>
    public IEnumerable<string> NamedTokens => new[] { Bos, Eos, Pad, Unk }.OfType<string>().Concat(AdditionalSpecialTokens);

    public static SpecialTokenConfig Read(string folder)
    {
        var config = new SpecialTokenConfig();
        config.ReadFile(Path.Combine(folder, SpecialTokensMapFileName));
        config.ReadFile(Path.Combine(folder, ConfigFileName));
        return config;
    }

    private void ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using JsonDocument document = HfJson.Parse(path);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerLoadException(path, "must hold a JSON object.");
        }

        Bos = TokenContent(root, "bos_token", path) ?? Bos;
        Eos = TokenContent(root, "eos_token", path) ?? Eos;
        Pad = TokenContent(root, "pad_token", path) ?? Pad;
        Unk = TokenContent(root, "unk_token", path) ?? Unk;

        ChatTemplate = ReadChatTemplate(root, path) ?? ChatTemplate;

        if (HfJson.Property(root, "additional_special_tokens") is JsonElement additional)
        {
            if (additional.ValueKind != JsonValueKind.Array)
            {
                throw new TokenizerLoadException(path, "field 'additional_special_tokens' must be an array.");
            }

            int i = 0;
            foreach (JsonElement item in additional.EnumerateArray())
            {
                string token = Content(item, path, $"additional_special_tokens[{i++}]")!;
                if (!AdditionalSpecialTokens.Contains(token))
                {
                    AdditionalSpecialTokens.Add(token);
                }
            }
        }

        if (HfJson.Property(root, "added_tokens_decoder") is JsonElement decoder)
        {
            if (decoder.ValueKind != JsonValueKind.Object)
            {
                throw new TokenizerLoadException(path, "field 'added_tokens_decoder' must be an object mapping id to token.");
            }

            foreach (JsonProperty entry in decoder.EnumerateObject())
            {
                string jsonPath = $"added_tokens_decoder[\"{entry.Name}\"]";
                if (!int.TryParse(entry.Name, out int id) || id < 0)
                {
                    throw new TokenizerLoadException(path, $"field '{jsonPath}': the key must be a non-negative integer id.");
                }

                string content = Content(entry.Value, path, jsonPath)
                    ?? throw new TokenizerLoadException(path, $"field '{jsonPath}' must have a 'content' string.");
                bool special = HfJson.Property(entry.Value, "special") is JsonElement s && s.ValueKind == JsonValueKind.True;
                AddedTokens[content] = (id, special);
            }
        }
    }

    private static string? ReadChatTemplate(JsonElement root, string path)
    {
        switch (HfJson.Property(root, "chat_template"))
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString();
            case { ValueKind: JsonValueKind.Array } list:
                JsonElement[] named = [.. list.EnumerateArray()];
                JsonElement chosen = named.FirstOrDefault(t => HfJson.Property(t, "name") is { ValueKind: JsonValueKind.String } n && n.GetString() == "default");
                chosen = chosen.ValueKind == JsonValueKind.Undefined && named.Length > 0 ? named[0] : chosen;
                return chosen.ValueKind == JsonValueKind.Undefined ? null : HfJson.OptionalString(chosen, "template", path, "chat_template[].template");
            default:
                throw new TokenizerLoadException(path, "field 'chat_template' must be a string or a list of {\"name\", \"template\"} objects.");
        }
    }

    private static string? TokenContent(JsonElement root, string name, string path) =>
        HfJson.Property(root, name) is JsonElement value ? Content(value, path, name) : null;

    private static string? Content(JsonElement value, string path, string jsonPath)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString();
            case JsonValueKind.Object when HfJson.Property(value, "content") is { ValueKind: JsonValueKind.String } content:
                return content.GetString();
            default:
                throw new TokenizerLoadException(
                    path, $"field '{jsonPath}' must be a string, an object with a 'content' string, or null.");
        }
    }
}
