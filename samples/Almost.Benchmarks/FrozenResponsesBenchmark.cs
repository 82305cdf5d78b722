using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Almost.Data;
using Almost.Generation;
using Almost.Synthetic.Ranking;
using Almost.TinyWorld.Pipeline;

namespace Almost.Benchmarks;

/// <summary>
/// The main job's responses stage (stage 2) alone, on one frozen-model backend: every configuration of the rubric
/// answers the accepted queries of a finished run (<c>queries.jsonl</c>), in a scratch folder. Prints one JSON line:
/// generated and prompt tokens (re-encoded with the zoo tokenizer, so both backends count alike), wall and CPU
/// seconds of the stage (export and model loading excluded, timed apart) and the load average. One backend per
/// process, so neither engine's idle OpenMP threads bill the other's CPU time.
/// </summary>
internal static class FrozenResponsesBenchmark
{
    public static async Task RunAsync(string queriesPath, FrozenGeneratorBackend backend)
    {
        await ScratchPipeline.RunAsync(queriesPath, "frozen-responses", folder => PipelineOptions.Fast(folder) with { FrozenGenerator = backend }, async pipeline =>
        {
            var options = pipeline.Options;
            var queries = await pipeline.QueriesAsync();
            var configurations = options.Rubric.Split('|').SelectMany(chain => RankingRubric.Parse(chain).Configurations).Distinct().ToList();

            // Load (and on llama.cpp export) every model outside the timed stage.
            var setup = Stopwatch.StartNew();
            foreach (var size in configurations.Select(c => c.Split('-')[0]).Distinct())
            {
                pipeline.FrozenGenerator(size);
            }

            double setupSeconds = setup.Elapsed.TotalSeconds;
            double load = RewardModelThroughput.LoadAverage();
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            await pipeline.GenerateResponsesAsync(queries);
            double wallSeconds = wall.Elapsed.TotalSeconds;
            process.Refresh();
            double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;

            var tokenizer = pipeline.Vanilla("tiny").Tokenizer;
            long tokens = 0, promptTokens = 0;
            foreach (var name in configurations)
            {
                var records = await JsonlReader.ReadAllAsync<CompletionRecord>(pipeline.PathOf("responses", name + ".jsonl"));
                tokens += records.Records.Sum(r => (long)tokenizer.Encode(r.Completion).Length);
                promptTokens += records.Records.Sum(r => (long)tokenizer.Encode(r.Prompt, addBos: true).Length);
            }

            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["backend"] = backend.ToString(),
                ["queries"] = queries.Count,
                ["configurations"] = string.Join(",", configurations),
                ["tokens"] = tokens,
                ["setup_s"] = Math.Round(setupSeconds, 2),
                ["wall_s"] = Math.Round(wallSeconds, 2),
                ["cpu_s"] = Math.Round(cpuSeconds, 2),
                ["tokens_per_cpu_s"] = Math.Round(tokens / cpuSeconds, 1),
                ["tokens_per_s"] = Math.Round(tokens / wallSeconds, 1),
                ["prompt_tokens"] = promptTokens,
                ["all_tokens_per_cpu_s"] = Math.Round((tokens + promptTokens) / cpuSeconds, 1),
                ["load_average_1m"] = Math.Round(load, 2),
                ["threads"] = TorchSharp.torch.get_num_threads(),
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            }));
        });
    }
}
