using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Almost.Tokenization;

namespace Almost.Benchmarks;

/// <summary>
/// Load time and per-call encode speed of the real tokenizers the parity harness checks (GPT-2, Qwen3 and Mistral
/// fixtures; Llama 3 when eng/tokenizer-parity has fetched it), on the parity corpus. Hugging Face's numbers for the
/// same files come from <c>node eng/tokenizer-parity/parity.js bench</c>.
///   dotnet run -c Release --project samples/Almost.Benchmarks -- --tokenizers
/// </summary>
internal static class TokenizerThroughput
{
    public static void Run(string repoRoot)
    {
        string fixtures = Path.Combine(repoRoot, "tests", "Almost.Core.Tests", "Fixtures", "tokenizers");
        string[] corpus = File.ReadLines(Path.Combine(fixtures, "corpus.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        long chars = corpus.Sum(s => (long)s.Length);
        var folders = new[] { "gpt2", "qwen3", "mistral" }.Select(name => (name, Path.Combine(fixtures, name)))
            .Append(("llama3", Path.Combine(repoRoot, "eng", "tokenizer-parity", ".cache", "llama3")))
            .Where(t => File.Exists(Path.Combine(t.Item2, "tokenizer.json")));

        foreach (var (name, folder) in folders)
        {
            // Wall and CPU time: on a shared machine CPU time is the fairer comparison with Hugging Face's.
            var loads = new List<double>();
            var loadCpu = new List<double>();
            AlmostTokenizer tokenizer = null!;
            using var process = Process.GetCurrentProcess();
            for (int i = 0; i < 5; i++)
            {
                GC.Collect();
                process.Refresh();
                TimeSpan cpu = process.TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                tokenizer = AlmostTokenizer.FromFolder(folder);
                loads.Add(watch.Elapsed.TotalMilliseconds);
                process.Refresh();
                loadCpu.Add((process.TotalProcessorTime - cpu).TotalMilliseconds);
            }

            foreach (string text in corpus.Take(200))
            {
                tokenizer.Encode(text);
            }

            long tokens = 0;
            process.Refresh();
            TimeSpan encodeCpu = process.TotalProcessorTime;
            var encode = Stopwatch.StartNew();
            foreach (string text in corpus)
            {
                tokens += tokenizer.Encode(text).Length;
            }

            double seconds = encode.Elapsed.TotalSeconds;
            process.Refresh();
            double cpuSeconds = (process.TotalProcessorTime - encodeCpu).TotalSeconds;
            double firstLoad = loads[0];
            loads.Sort();
            loadCpu.Sort();
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["tokenizer"] = name,
                ["first_load_ms"] = Math.Round(firstLoad, 1),
                ["load_ms_median"] = Math.Round(loads[2], 1),
                ["load_cpu_ms_median"] = Math.Round(loadCpu[2], 1),
                ["strings"] = corpus.Length,
                ["chars"] = chars,
                ["tokens"] = tokens,
                ["encode_per_call_chars_per_s"] = Math.Round(chars / seconds),
                ["encode_per_call_us"] = Math.Round(seconds / corpus.Length * 1e6, 1),
                ["encode_per_call_cpu_us"] = Math.Round(cpuSeconds / corpus.Length * 1e6, 1),
            }));
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"corpus: {corpus.Length} strings, {chars} chars"));
    }
}
