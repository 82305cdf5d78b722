// Almost quickstart: build a tiny LLaMA, save it as a Hugging Face checkpoint, load it back, and generate.
// Run: bash eng/run-main.sh   (or: dotnet run -c Release --project samples/Almost.Quickstart -- [output-folder])
// The weights are random, so the text is noise; the point is the round trip through the HF layout.
using Almost.Devices;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
var log = loggerFactory.CreateLogger("Quickstart");
var folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "almost-quickstart");

// ## 1. Device and seed
var device = ComputeDevice.Resolve();                         // $ALMOST_DEVICE, else CUDA if present, else CPU
Determinism.SeedEverything(1234);
log.LogInformation("Device {Device}, dtype {DType}", device, ComputeDevice.ResolveDType(device));

// ## 2. A byte-level tokenizer (256 byte tokens + <|endoftext|>) written as HF files
var vocab = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelAlphabet.Characters[b].ToString(), b => b);
var specials = new Dictionary<string, int> { ["<|endoftext|>"] = 256 };
HfTokenizerFiles.WriteByteLevelBpe(folder, vocab, [], specials, "<|endoftext|>", "<|endoftext|>", "<|endoftext|>");

// ## 3. A tiny LLaMA: 2 layers, grouped-query attention (4 query / 2 KV heads)
var config = new LlamaConfig
{
    VocabSize = 257, HiddenSize = 64, IntermediateSize = 176, NumHiddenLayers = 2,
    NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 256,
    BosTokenId = 256, EosTokenIds = [256], PadTokenId = 256,
};
using var model = LlamaForCausalLM.Create(config, new ModelOptions { Seed = 1234 });
log.LogInformation("Built {Params:N0} parameters", config.ParameterCount);

// ## 4. Save in Hugging Face layout, load it back
model.SavePretrained(folder);
using var reloaded = LlamaForCausalLM.FromPretrained(folder);
var tokenizer = AlmostTokenizer.FromFolder(folder);
log.LogInformation("Saved and reloaded {Folder}: {Files}", folder, string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName).Order()));

using (var ids = tensor(tokenizer.Encode("Hello", addBos: true).Select(i => (long)i).ToArray(), device: reloaded.Device).unsqueeze(0))
using (var a = model.Logits(ids))
using (var b = reloaded.Logits(ids))
{
    var same = a.eq(b).all().item<bool>();
    log.LogInformation("Reloaded logits identical: {Same}", same);
    if (!same)
    {
        throw new InvalidOperationException("The reloaded checkpoint gives different logits.");
    }
}

// ## 5. Generate: greedy and sampled, with a progress report
var generator = new LocalGenerator(reloaded, tokenizer, logger: loggerFactory.CreateLogger<LocalGenerator>());
var prompts = new[] { "\n\nHuman: What is 2 plus 3?\n\nAssistant:", "Once upon a time" };
var progress = new Progress<GenerationProgress>(p => log.LogInformation("Generated {Done}/{Total} prompts", p.CompletedPrompts, p.TotalPrompts));
var greedy = await generator.GenerateAsync(prompts, new GenerationOptions { MaxNewTokens = 24, Temperature = 0 }, progress);
var sampled = await generator.GenerateAsync(prompts, new GenerationOptions { MaxNewTokens = 24, Temperature = 0.9, TopP = 0.95, Seed = 7, SamplesPerPrompt = 2 });
for (var i = 0; i < prompts.Length; i++)
{
    Console.WriteLine($"prompt: {prompts[i].ReplaceLineEndings("⏎")}");
    Console.WriteLine($"  greedy  [{greedy[i][0].FinishReason}]: {greedy[i][0].Text.ReplaceLineEndings("⏎")}");
    foreach (var s in sampled[i])
    {
        Console.WriteLine($"  sampled [{s.FinishReason}]: {s.Text.ReplaceLineEndings("⏎")}");
    }
}
