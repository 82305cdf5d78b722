// Reads {"text": "..."} lines on stdin and answers each with one line
// {"ids": [...], "decoded": "...", "special": [...]}: the ids of Encode(text), Decode(ids) with special tokens kept,
// and the ids with the tokenizer's BOS added as Hugging Face's post-processor adds it (Encode(text, addBos)).
//   dotnet ParityCli.dll <tokenizer folder>
using System.Text;
using System.Text.Json;
using Almost.Tokenization;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ParityCli <tokenizer folder>");
    return 2;
}

using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
AlmostTokenizer tokenizer;
try
{
    tokenizer = AlmostTokenizer.FromFolder(args[0]);
}
catch (TokenizerLoadException e)
{
    // The harness counts a tokenizer that does not load as 0 identical and prints why.
    while (input.ReadLine() is not null)
    {
        output.WriteLine(JsonSerializer.Serialize(new { error = e.Message }, options));
    }

    return 0;
}

bool addsBos = AddsBos(args[0]);
while (input.ReadLine() is string line)
{
    string text = JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!;
    int[] ids = tokenizer.Encode(text);
    var answer = new Dictionary<string, object>
    {
        ["ids"] = ids,
        ["decoded"] = tokenizer.Decode(ids),
        ["special"] = tokenizer.Encode(text, addBos: addsBos),
    };
    output.WriteLine(JsonSerializer.Serialize(answer, options));
}

return 0;

// Hugging Face adds BOS when tokenizer_config.json says add_bos_token (LLaMA 2 / Mistral); Llama 3's tokenizer.json
// here has no template post-processor, and Qwen and GPT-2 add nothing.
static bool AddsBos(string folder)
{
    string config = Path.Combine(folder, "tokenizer_config.json");
    return File.Exists(config)
        && JsonDocument.Parse(File.ReadAllText(config)).RootElement.TryGetProperty("add_bos_token", out JsonElement add)
        && add.ValueKind == JsonValueKind.True;
}
