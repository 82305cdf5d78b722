// Exports small checkpoints written by Almost, with the logits Almost computes for them, so that
// check_transformers.py can verify, in Python, that Hugging Face transformers opens them unchanged and agrees.
//   dotnet run -c Release --project samples/Almost.Interop -- <output-folder>
//   python3 samples/Almost.Interop/check_transformers.py <output-folder>
// It also writes reward models (reward_expected.json): the scores must equal AutoModelForSequenceClassification's, with
// left and right padding, and the token Almost scores must be the one transformers pools at (incl. PAD = EOS).
using System.Text.Json;
using Almost.Models.Llama;
using Almost.Scoring;
using Almost.Tokenization;
using static TorchSharp.torch;

var root = args.Length > 0 ? args[0] : "interop-out";
Directory.CreateDirectory(root);

// A byte-level BPE tokenizer with a few merges, written as HF files next to each model.
var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Characters[b].ToString(), b => b);
(string, string)[] merges = [("H", "e"), ("l", "l"), ("He", "ll"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("Ġ", "t"), ("h", "e")];
foreach (var (l, r) in merges)
{
    vocab[l + r] = vocab.Count;
}

var specials = new Dictionary<string, int> { ["<|endoftext|>"] = vocab.Count };
var texts = new[] { "Hello world", "the weather, 42 times!", "Hello<|endoftext|> the" };

var cases = new (string Name, LlamaConfig Config, ScalarType SaveAs, long ShardBytes)[]
{
    ("llama-gqa-fp32", Config("llama", tied: false) with { RopeScaling = new RopeScaling(RopeScalingType.Llama3, 4, 1, 4, 32) }, ScalarType.Float32, 5_000_000_000),
    ("qwen2-tied-bf16", Config("qwen2", tied: true), ScalarType.BFloat16, 5_000_000_000),
    ("mistral-sharded", Config("mistral", tied: false), ScalarType.Float32, 40_000),
};

var manifest = new List<object>();
foreach (var (name, config, saveAs, shardBytes) in cases)
{
    var folder = Path.Combine(root, name);
    using var model = LlamaForCausalLM.Create(config, new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = 5 });
    if (config.QkvBias)
    {
        using var noGrad = no_grad();
        foreach (var (_, p) in model.named_parameters().Where(n => n.name.EndsWith(".bias")))
        {
            p.normal_(0, 0.1);
        }
    }

    model.SavePretrained(folder, saveAs, shardBytes);
    HfTokenizerFiles.WriteByteLevelBpe(folder, vocab, merges, specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

    // Logits of the model as saved (reload, so bf16 rounding is included), for a left-padded batch.
    using var reloaded = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
    var tokenizer = AlmostTokenizer.FromFolder(folder);
    var ids = texts.Select(t => tokenizer.Encode(t)).ToArray();
    var width = ids.Max(i => i.Length);
    var padded = ids.Select(i => Enumerable.Repeat((long)specials["<|endoftext|>"], width - i.Length).Concat(i.Select(x => (long)x)).ToArray()).ToArray();
    var mask = ids.Select(i => Enumerable.Repeat(0L, width - i.Length).Concat(Enumerable.Repeat(1L, i.Length)).ToArray()).ToArray();
    using var input = tensor(padded.SelectMany(x => x).ToArray()).reshape(texts.Length, width);
    using var attention = tensor(mask.SelectMany(x => x).ToArray()).reshape(texts.Length, width);
    using var logits = reloaded.Logits(input, attention);
    manifest.Add(new
    {
        name,
        model_type = config.ModelType,
        saved_dtype = saveAs.ToString(),
        texts,
        token_ids = ids,
        input_ids = padded,
        attention_mask = mask,
        logits = logits.data<float>().ToArray(),
        logits_shape = logits.shape,
    });
    Console.WriteLine($"{name}: {config.ParameterCount} parameters, files: {string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName).Order())}");
}

File.WriteAllText(Path.Combine(root, "expected.json"), JsonSerializer.Serialize(manifest));
Console.WriteLine($"wrote {root}/expected.json");

// Reward models: PAD = EOS = BOS (TinyWorld's convention: no EOS appended, the last response token is scored) and a
// qwen2 with a distinct EOS <|im_end|> (appended and scored). Scores from Almost's RewardModel, for both paddings.
var rmSpecials = new Dictionary<string, int>(specials) { ["<|im_end|>"] = vocab.Count + 1 };
(string Prompt, string Response)[] pairs =
[
    ("\n\nHuman: Hello world\n\nAssistant:", " the weather, 42 times!"),
    ("\n\nHuman: the\n\nAssistant:", " Hello"),
    ("\n\nHuman: Hello\n\nAssistant:", " world<|endoftext|>"),
];
var rewardCases = new (string Name, LlamaConfig Config, string Eos)[]
{
    ("rm-llama-pad-is-eos", Config("llama", tied: false) with { VocabSize = 266 }, "<|endoftext|>"),
    ("rm-qwen2-distinct-eos", Config("qwen2", tied: true) with { VocabSize = 266, EosTokenIds = [265] }, "<|im_end|>"),
};
var rewardManifest = new List<object>();
foreach (var (name, config, eos) in rewardCases)
{
    var folder = Path.Combine(root, name);
    using var rm = LlamaForSequenceClassification.Create(config, new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = 8 });
    rm.Normalization = new RewardNormalization(0.125, 2.5);
    rm.SavePretrained(folder);
    HfTokenizerFiles.WriteByteLevelBpe(folder, vocab, merges, rmSpecials, "<|endoftext|>", eos, "<|endoftext|>");
    using var reloaded = LlamaForSequenceClassification.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
    var tokenizer = AlmostTokenizer.FromFolder(folder);
    var scorer = new RewardModel(reloaded, tokenizer);
    var scores = await scorer.ScoreAsync(pairs.Select(p => new RewardModelInput(p.Prompt, p.Response)).ToArray());
    var encoded = pairs.Select(p => scorer.Encoder.Encode(p.Prompt, p.Response)).ToArray();
    var width = encoded.Max(e => e.Length);
    long Pad(int _) => scorer.Encoder.PadTokenId;
    rewardManifest.Add(new
    {
        name,
        prompts = pairs.Select(p => p.Prompt).ToArray(),
        responses = pairs.Select(p => p.Response).ToArray(),
        appends_eos = scorer.Encoder.AppendsEos,
        input_ids_left = encoded.Select(e => Enumerable.Range(0, width - e.Length).Select(Pad).Concat(e.Select(x => (long)x)).ToArray()).ToArray(),
        input_ids_right = encoded.Select(e => e.Select(x => (long)x).Concat(Enumerable.Range(0, width - e.Length).Select(Pad)).ToArray()).ToArray(),
        lengths = encoded.Select(e => e.Length).ToArray(),
        scores,
        mean = 0.125,
        std = 2.5,
    });
    Console.WriteLine($"{name}: appends EOS {scorer.Encoder.AppendsEos}, scores {string.Join(", ", scores.Select(s => s.ToString("F5")))}");
}

File.WriteAllText(Path.Combine(root, "reward_expected.json"), JsonSerializer.Serialize(rewardManifest));
Console.WriteLine($"wrote {root}/reward_expected.json");

static LlamaConfig Config(string type, bool tied) => new()
{
    ModelType = type,
    VocabSize = 265,
    HiddenSize = 64,
    IntermediateSize = 96,
    NumHiddenLayers = 2,
    NumAttentionHeads = 4,
    NumKeyValueHeads = 2,
    MaxPositionEmbeddings = 128,
    RopeTheta = 10000,
    TieWordEmbeddings = tied,
    InitializerRange = 0.2,
    BosTokenId = 264,
    EosTokenIds = [264],
    PadTokenId = 264,
};
