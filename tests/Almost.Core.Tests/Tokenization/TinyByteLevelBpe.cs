using System.Text.Json.Nodes;
using Almost.Tokenization;

namespace Almost.Core.Tests.Tokenization;

/// <summary>A small byte-level BPE (all 256 byte symbols + a few merges + special tokens) and its files.</summary>
internal static class TinyByteLevelBpe
{
    public static readonly (string Left, string Right)[] Merges =
    [
        ("H", "e"), ("l", "l"), ("He", "ll"), ("Hell", "o"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"),
        ("Ġwor", "ld"), ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "Ġ"), ("Ã", "©"),
    ];

    public static readonly Dictionary<string, int> Vocab = BuildVocab();

    public const int EndOfText = 256 + 15;
    public const int ImStart = EndOfText + 1;
    public const int ImEnd = EndOfText + 2;

    public static readonly Dictionary<string, int> Specials = new()
    {
        ["<|endoftext|>"] = EndOfText,
        ["<|im_start|>"] = ImStart,
        ["<|im_end|>"] = ImEnd,
    };

    public static readonly string[] Samples =
    [
        "Hello world",
        "the in the  Hello\n\nworld",
        "Hello world<|endoftext|>",
        "<|im_start|>user\nHello<|im_end|>\n",
        "héllo wörld 🙂 ünïcödé",
        "  leading and trailing  ",
        "tab\tseparated 123, it's done.\r\n",
    ];

    private static Dictionary<string, int> BuildVocab()
    {
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.Characters[b].ToString()] = b;
        }

        foreach (var (left, right) in Merges)
        {
            vocab.Add(left + right, vocab.Count);
        }

        return vocab;
    }

    public static string NewTempFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "almost-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>vocab.json + merges.txt (the vocabulary includes the special tokens, as GPT-2's does).</summary>
    public static void WriteVocabAndMerges(string folder)
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab.Concat(Specials))
        {
            vocab[token] = id;
        }

        File.WriteAllText(Path.Combine(folder, "vocab.json"), vocab.ToJsonString());
        File.WriteAllLines(Path.Combine(folder, "merges.txt"), ["#version: 0.2", .. Merges.Select(m => m.Left + " " + m.Right)]);
    }

    /// <summary>A Hugging Face tokenizer.json, with merges as "a b" strings or ["a","b"] pairs.</summary>
    public static void WriteTokenizerJson(string folder, bool arrayMerges, string modelType = "BPE")
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in Vocab)
        {
            vocab[token] = id;
        }

        var merges = new JsonArray();
        foreach (var (left, right) in Merges)
        {
            merges.Add(arrayMerges ? new JsonArray(left, right) : JsonValue.Create(left + " " + right));
        }

        var added = new JsonArray();
        foreach (var (token, id) in Specials)
        {
            added.Add(new JsonObject { ["id"] = id, ["content"] = token, ["special"] = true, ["normalized"] = false });
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = modelType, ["vocab"] = vocab, ["merges"] = merges },
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), root.ToJsonString());
    }

    /// <summary>tokenizer_config.json naming the special tokens (bos as an object, eos as a string).</summary>
    public static void WriteConfig(string folder, string? pad)
    {
        var decoder = new JsonObject();
        foreach (var (token, id) in Specials)
        {
            decoder[id.ToString()] = new JsonObject { ["content"] = token, ["special"] = true };
        }

        var config = new JsonObject
        {
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = new JsonObject { ["content"] = "<|im_start|>", ["lstrip"] = false },
            ["eos_token"] = "<|endoftext|>",
            ["pad_token"] = pad,
            ["unk_token"] = null,
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
    }
}
