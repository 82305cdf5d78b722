using System.Diagnostics;
using System.Text.Json;
using Almost.Generation;
using Almost.Tokenization;
using Almost.TinyWorld.Pipeline;

namespace Almost.Benchmarks;

/// <summary>
/// <see cref="LocalGeneratorOptions.CompactFinishedRows"/> on the main job's decoding workloads, on <c>base</c>: the
/// queries of a finished run (<c>queries.jsonl</c>) answered as self-play's assistant does (five careful demonstrations,
/// 8 samples per prompt), as the evaluation answers with a 0-shot policy, and as the responses stage does (one sample
/// after five demonstrations); temperature 0.7, 48 new tokens, the transcript's stop strings. Each workload runs at 32
/// and 128 rows per batch with and without compaction; the best of two calls each. Prints one JSON line per cell and
/// a markdown table for docs/performance.md.
/// </summary>
internal static class RowCompactionBenchmark
{
    public static async Task RunAsync(string queriesPath)
    {
        await ScratchPipeline.RunAsync(queriesPath, "row-compaction", PipelineOptions.Default, async pipeline =>
        {
            var queries = (await pipeline.QueriesAsync()).Take(128).ToList();
            var (model, tokenizer) = pipeline.Vanilla("base");
            var careful = await pipeline.ConfigurationAsync("base-careful-5");
            var fewShot = queries.Select(q => careful.BuildPrompt(q.Text)).ToArray();
            var zeroShot = queries.Select(q => AlmostTranscript.FormatPrompt(q.Text)).ToArray();
            var workloads = new (string Name, string[] Prompts, int Samples)[]
            {
                ("self-play assistant: 5 shots, 32 prompts x 8 samples", fewShot[..32], 8),
                ("evaluation: 0-shot, 128 prompts", zeroShot, 1),
                ("responses: 5 shots, 128 prompts", fewShot, 1),
            };

            var table = new List<string>
            {
                "| workload | 32 rows | 32 rows, compacted | 128 rows | 128 rows, compacted |",
                "| --- | ---: | ---: | ---: | ---: |",
            };
            foreach (var (name, prompts, samples) in workloads)
            {
                var cells = new List<string>();
                foreach (var (batch, compact) in new[] { (32, false), (32, true), (128, false), (128, true) })
                {
                    var generator = new LocalGenerator(model, tokenizer, new LocalGeneratorOptions { MaxBatchSize = batch, CompactFinishedRows = compact });
                    var options = new GenerationOptions
                    {
                        Temperature = 0.7, MaxNewTokens = 48, StopStrings = AlmostTranscript.StopStrings, Seed = 5, SamplesPerPrompt = samples,
                    };
                    await generator.GenerateAsync(prompts[..4], options);   // warm-up
                    double best = double.MaxValue;
                    long tokens = 0;
                    for (var run = 0; run < 2; run++)
                    {
                        var watch = Stopwatch.StartNew();
                        var results = await generator.GenerateAsync(prompts, options);
                        best = Math.Min(best, watch.Elapsed.TotalSeconds);
                        tokens = results.Sum(r => r.Sum(s => (long)s.TokenIds.Count));
                    }

                    Console.WriteLine(JsonSerializer.Serialize(new { workload = name, batch, compact, seconds = Math.Round(best, 3), tokens, tokens_per_s = Math.Round(tokens / best) }));
                    cells.Add($"{best:F2} s ({tokens / best:F0} tok/s)");
                }

                table.Add($"| {name} | {string.Join(" | ", cells)} |");
            }

            Console.WriteLine();
            table.ForEach(Console.WriteLine);
        });
    }
}
