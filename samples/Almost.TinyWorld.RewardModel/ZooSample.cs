using Almost.Data;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.TinyWorld.RewardModeling;

/// <summary>A prompt configuration of the zoo: a model size prompted with some careful demonstrations.</summary>
/// <param name="Name">Short name (the findings' letters: A base careful 5-shot, D tiny careful 3-shot, G tiny 0-shot).</param>
/// <param name="Model">Zoo size.</param>
/// <param name="Shots">Careful demonstrations in the prompt.</param>
/// <param name="Rank">The rule of thumb's rank, 0 best: bigger model and more careful shots rank higher.</param>
public sealed record ZooConfiguration(string Name, string Model, int Shots, int Rank);

/// <summary>One sampled answer of a zoo configuration to a TinyWorld task, as the reward model sees it.</summary>
/// <param name="Split">train or eval.</param>
/// <param name="Task">Index of the task in its split's list.</param>
/// <param name="Configuration">The configuration's name.</param>
/// <param name="Sample">Index of the sample among those of the same prompt.</param>
/// <param name="Prompt">The conversation without demonstrations, ending with <c>"\n\nAssistant:"</c>.</param>
/// <param name="Response">The reply (cut at a new Human turn, trimmed, one leading space).</param>
public sealed record ZooSample(string Split, int Task, string Configuration, int Sample, string Prompt, string Response);

/// <summary>Samples the zoo and caches the answers in a JSONL file, so a rerun goes straight to training.</summary>
public static class ZooSampler
{
    /// <summary>The configurations: widely spaced ranks, which the shared findings found the rule of thumb orders best.</summary>
    public static IReadOnlyList<ZooConfiguration> Configurations { get; } =
    [
        new("A", "base", 5, 0),
        new("D", "tiny", 3, 1),
        new("G", "tiny", 0, 2),
    ];

    /// <summary>
    /// The samples of every configuration for every task of both splits: read from <c>samples-{name}.jsonl</c> in
    /// <paramref name="cacheFolder"/> when it exists, otherwise generated (temperature 0.7, 48 new tokens, stop at a new
    /// Human turn; seed 1 + the configuration's rank, so configurations that read their prompts alike still sample
    /// independently) and written there.
    /// </summary>
    public static async Task<IReadOnlyList<ZooSample>> LoadOrGenerateAsync(
        string cacheFolder, string zoo, IReadOnlyList<TinyTask> train, IReadOnlyList<TinyTask> eval, int samplesPerPrompt,
        Action<string> log, CancellationToken cancellationToken)
    {
        var demonstrations = DemonstrationSet.Create(Persona.Careful, 5, seed: 5);
        var samples = new List<ZooSample>();
        foreach (var configuration in Configurations)
        {
            string cache = Path.Combine(cacheFolder, $"samples-{configuration.Name}.jsonl");
            if (File.Exists(cache))
            {
                var cached = (await JsonlReader.ReadAllAsync<ZooSample>(cache, cancellationToken: cancellationToken)).Records;
                CheckMatchesTasks(cache, cached, train, eval, samplesPerPrompt);
                samples.AddRange(cached);
                continue;
            }

            string folder = Path.Combine(zoo, configuration.Model);
            using var model = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
            var generator = new LocalGenerator(model, AlmostTokenizer.FromFolder(folder), new LocalGeneratorOptions { MaxBatchSize = 32 });
            var generation = new GenerationOptions
            {
                MaxNewTokens = 48, Temperature = 0.7, Seed = 1 + configuration.Rank, SamplesPerPrompt = samplesPerPrompt,
                StopStrings = AlmostTranscript.StopStrings,
            };
            var mine = new List<ZooSample>();
            foreach (var (split, tasks) in new[] { ("train", train), ("eval", eval) })
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var prompts = tasks.Select(t => PromptBuilder.Build(demonstrations, configuration.Shots, t.Query)).ToList();
                var results = await generator.GenerateAsync(prompts, generation, cancellationToken: cancellationToken);
                for (int t = 0; t < tasks.Count; t++)
                {
                    for (int s = 0; s < results[t].Count; s++)
                    {
                        mine.Add(new ZooSample(split, t, configuration.Name, s, PromptBuilder.FormatQuery(tasks[t].Query),
                            " " + AlmostTranscript.CutReply(results[t][s].Text)));
                    }
                }

                log($"sampled {configuration.Name} ({configuration.Model} {configuration.Shots}-shot) on {tasks.Count} {split} tasks × {samplesPerPrompt} in {watch.Elapsed.TotalSeconds:F0}s");
            }

            await JsonlWriter.WriteAllAsync(cache, mine, cancellationToken: cancellationToken);
            samples.AddRange(mine);
        }

        return samples;
    }

    /// <summary>
    /// A cache is only valid for the same tasks (the oracle scores each sample against its task): every task of both
    /// splits must have its samples, with its own prompt.
    /// </summary>
    private static void CheckMatchesTasks(string cache, IReadOnlyList<ZooSample> cached, IReadOnlyList<TinyTask> train, IReadOnlyList<TinyTask> eval, int samplesPerPrompt)
    {
        foreach (var (split, tasks) in new[] { ("train", train), ("eval", eval) })
        {
            var mine = cached.Where(s => s.Split == split).ToList();
            var stale = mine.FirstOrDefault(s => s.Task >= tasks.Count || s.Prompt != PromptBuilder.FormatQuery(tasks[s.Task].Query));
            if (mine.Count != tasks.Count * samplesPerPrompt || stale is not null)
            {
                throw new InvalidDataException(
                    $"{cache}: its {split} samples were made for other tasks or settings ({mine.Count} samples for {tasks.Count} tasks × {samplesPerPrompt}" +
                    (stale is null ? ")" : $"; task {stale.Task} has prompt {stale.Prompt.Trim()})") + "; delete it to sample again.");
            }
        }
    }
}
