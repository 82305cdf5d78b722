using Almost.TinyWorld.Pipeline;

namespace Almost.Benchmarks;

/// <summary>
/// A pipeline in a temporary folder that holds a copy of a finished main-job run's <c>queries.jsonl</c>, for benchmarks
/// that time one stage's work on real queries; the folder is deleted afterwards.
/// </summary>
internal static class ScratchPipeline
{
    /// <summary>Runs <paramref name="body"/> on the scratch pipeline made from <paramref name="options"/> (given the folder).</summary>
    /// <param name="queriesPath">A main job's <c>queries.jsonl</c>.</param>
    /// <param name="name">Part of the temporary folder's name.</param>
    /// <param name="options">The pipeline's options for a folder.</param>
    /// <param name="body">The benchmark.</param>
    public static async Task RunAsync(string queriesPath, string name, Func<string, PipelineOptions> options, Func<TinyWorldPipeline, Task> body)
    {
        if (!File.Exists(queriesPath))
        {
            throw new FileNotFoundException($"No queries at '{queriesPath}' (a main job's queries.jsonl).", queriesPath);
        }

        var output = Path.Combine(Path.GetTempPath(), $"almost-{name}-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var pipeline = new TinyWorldPipeline(options(output));
            File.Copy(queriesPath, pipeline.PathOf("queries.jsonl"));
            await body(pipeline);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
