using Almost.Data;

namespace Almost.TinyWorld;

/// <summary>
/// The public files of TinyWorld that a pipeline may read — everything it needs and nothing that answers a task:
/// the vanilla model zoo (<c>zoo/{tiny,small,base}</c>, each a Hugging Face folder with its tokenizer), seed queries
/// (train-split task queries), the evaluation prompt set (eval-split queries in every template's wording, for
/// decontamination only: no answers), demonstration dialogues of two qualities (careful and sloppy, train-split
/// tasks), and a sample of the zoo's pretraining corpus (its encyclopedia and worked-example documents, for replay in
/// SFT). The files under <c>zoo/world/</c> are written once by the zoo program's <c>world</c> verb (the audit side,
/// which knows the answers) and committed.
/// </summary>
public sealed class TinyWorldFiles
{
    /// <summary>Creates the view of a zoo folder.</summary>
    /// <param name="zooFolder">The zoo folder (holding <c>zoo.json</c>, the model folders and <c>world/</c>).</param>
    /// <exception cref="DirectoryNotFoundException">The folder or its <c>world/</c> files are missing.</exception>
    public TinyWorldFiles(string zooFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(zooFolder);
        if (!Directory.Exists(zooFolder))
        {
            throw new DirectoryNotFoundException($"{zooFolder}: no TinyWorld zoo folder there (expected samples/Almost.TinyWorld/zoo).");
        }

        ZooFolder = Path.GetFullPath(zooFolder);
    }

    /// <summary>
    /// How many eval-split tasks (the first of the evaluation seed's sequence) the evaluation prompt set covers: 2,000.
    /// An evaluation on more tasks would score queries the pipeline's decontamination never saw.
    /// </summary>
    public const int EvaluationTaskCount = 2000;

    /// <summary>The names of the zoo's model sizes, smallest first.</summary>
    public static IReadOnlyList<string> Sizes { get; } = ["tiny", "small", "base"];

    /// <summary>The zoo folder.</summary>
    public string ZooFolder { get; }

    /// <summary>The folder of the world files.</summary>
    public string WorldFolder => Path.Combine(ZooFolder, "world");

    /// <summary>The seed queries file: one train-split task query per line.</summary>
    public string SeedQueriesPath => Path.Combine(WorldFolder, "seed_queries.txt");

    /// <summary>The evaluation prompt set: one eval-split query wording per line (decontamination only).</summary>
    public string EvaluationPromptsPath => Path.Combine(WorldFolder, "eval_prompts.txt");

    /// <summary>The demonstration dialogues of a quality (<c>careful</c> or <c>sloppy</c>), as conversation JSONL.</summary>
    /// <param name="quality">The quality name.</param>
    /// <returns>The path.</returns>
    public string DemonstrationsPath(string quality) => Path.Combine(WorldFolder, $"demonstrations_{quality}.jsonl");

    /// <summary>
    /// The pretraining sample: TRL <c>text</c> records, the first encyclopedia and worked-example documents of the
    /// corpus the zoo was pretrained on, in corpus order (its chat transcripts, of mixed quality, are left out: replaying
    /// them would teach back the personas alignment removes). Encyclopedia entries describe the whole atlas, as in
    /// pretraining; worked examples use train-split tasks only.
    /// </summary>
    public string PretrainingSamplePath => Path.Combine(WorldFolder, "pretraining_sample.jsonl");

    /// <summary>The Hugging Face folder of a zoo model.</summary>
    /// <param name="size">tiny, small or base.</param>
    /// <returns>The folder.</returns>
    /// <exception cref="ArgumentException">An unknown size.</exception>
    public string ModelFolder(string size)
    {
        if (!Sizes.Contains(size))
        {
            throw new ArgumentException($"Unknown zoo size '{size}'; expected one of {string.Join(", ", Sizes)}.", nameof(size));
        }

        return Path.Combine(ZooFolder, size);
    }

    /// <summary>The seed queries.</summary>
    /// <returns>The queries, in file order.</returns>
    public IReadOnlyList<string> SeedQueries() => ReadLines(SeedQueriesPath);

    /// <summary>The evaluation prompt set (for decontamination).</summary>
    /// <returns>The prompts, in file order.</returns>
    public IReadOnlyList<string> EvaluationPrompts() => ReadLines(EvaluationPromptsPath);

    /// <summary>The pretraining sample (<see cref="PretrainingSamplePath"/>), in file order.</summary>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The documents.</returns>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="JsonlFormatException">A line is not a non-empty <c>text</c> record, or the file holds none.</exception>
    public async Task<IReadOnlyList<TextRecord>> PretrainingSampleAsync(CancellationToken cancellationToken = default)
    {
        RequireWorldFile(PretrainingSamplePath);
        return (await JsonlReader.ReadAllAsync<TextRecord>(PretrainingSamplePath, cancellationToken: cancellationToken).ConfigureAwait(false)).Records;
    }

    /// <summary>
    /// The zoo folder of this repository, found by walking up from <paramref name="start"/> (default: the current
    /// directory, then the application's folder) to the folder holding <c>samples/Almost.TinyWorld/zoo</c>.
    /// </summary>
    /// <param name="start">Where to start; null for the current directory.</param>
    /// <returns>The zoo folder.</returns>
    /// <exception cref="DirectoryNotFoundException">No such folder above the start.</exception>
    public static string FindZoo(string? start = null)
    {
        foreach (var origin in new[] { start ?? Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(origin); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "samples", "Almost.TinyWorld", "zoo");
                if (File.Exists(Path.Combine(candidate, "zoo.json")))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"No samples/Almost.TinyWorld/zoo/zoo.json above {start ?? Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}; pass the zoo folder explicitly.");
    }

    private static void RequireWorldFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{path}: missing TinyWorld world file; write the world files with `dotnet run -c Release --project samples/Almost.TinyWorld.Zoo -- world`.", path);
        }
    }

    private static IReadOnlyList<string> ReadLines(string path)
    {
        RequireWorldFile(path);

        var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0)
        {
            throw new InvalidDataException($"{path}: the file holds no line; expected one query per line.");
        }

        return lines;
    }
}
