using System.Text.Json;
using System.Text.Json.Serialization;
using Almost.Generation;
using Almost.IO;
using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>Settings of a <see cref="PremiseEvaluation"/>.</summary>
public sealed record PremiseOptions
{
    /// <summary>Eval-split tasks prompted (the six families take turns). 600.</summary>
    public int TaskCount { get; init; } = 600;

    /// <summary>Seed of the <see cref="TaskGenerator"/> that draws them. 11.</summary>
    public int TaskSeed { get; init; } = 11;

    /// <summary>Shot counts. <see cref="PromptBuilder.StandardShots"/> (0, 1, 3, 5).</summary>
    public IReadOnlyList<int> Shots { get; init; } = PromptBuilder.StandardShots;

    /// <summary>Demonstration qualities. Careful and sloppy.</summary>
    public IReadOnlyList<Persona> Demonstrations { get; init; } = [Persona.Careful, Persona.Sloppy];

    /// <summary>Seed of the <see cref="DemonstrationSet"/>s. 5.</summary>
    public int DemonstrationSeed { get; init; } = 5;

    /// <summary>
    /// How responses are sampled: temperature 0.7, seed 1, two samples per prompt (every sample is scored), at most 48
    /// new tokens, stopped at a new <c>Human:</c> turn.
    /// </summary>
    public GenerationOptions Generation { get; init; } = new()
    {
        MaxNewTokens = 48,
        Temperature = 0.7,
        Seed = 1,
        SamplesPerPrompt = 2,
        StopStrings = AlmostTranscript.StopStrings,
    };
}

/// <summary>One cell of the premise table: a model prompted with <see cref="Shots"/> demonstrations of one quality.</summary>
/// <param name="Model">The model's name (zoo size).</param>
/// <param name="Shots">Demonstrations in the prompt.</param>
/// <param name="Demonstrations">Their quality (persona name, lower case).</param>
/// <param name="Tasks">Tasks scored.</param>
/// <param name="MeanScore">Mean oracle score over every sample of every task.</param>
/// <param name="Correctness">Mean of the oracle's correctness part.</param>
/// <param name="ByFamily">Mean oracle score per task family.</param>
public sealed record PremiseCell(
    string Model,
    int Shots,
    string Demonstrations,
    int Tasks,
    double MeanScore,
    double Correctness,
    IReadOnlyDictionary<string, double> ByFamily);

/// <summary>The premise table: settings and one <see cref="PremiseCell"/> per model × shots × quality.</summary>
public sealed record PremiseReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The settings the cells were measured with.</summary>
    public required PremiseOptions Options { get; init; }

    /// <summary>The cells.</summary>
    public required IReadOnlyList<PremiseCell> Cells { get; init; }

    /// <summary>The cell of a model, shot count and quality.</summary>
    public PremiseCell Cell(string model, int shots, Persona demonstrations) =>
        Cells.Single(c => c.Model == model && c.Shots == shots && c.Demonstrations == QualityName(demonstrations));

    /// <summary>Writes the report as JSON (to a temporary file renamed into place).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions) + "\n");

    /// <summary>Reads a report written by <see cref="Save"/>.</summary>
    public static PremiseReport Load(string path) =>
        JsonSerializer.Deserialize<PremiseReport>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path}: expected a JSON object.");

    /// <summary>
    /// The table as Markdown: one row per model × quality, one column per shot count (mean oracle score), then the
    /// per-family scores of every model's best and worst configuration.
    /// </summary>
    public string ToMarkdown()
    {
        var text = new System.Text.StringBuilder();
        var models = Cells.Select(c => c.Model).Distinct().ToList();
        var shots = Cells.Select(c => c.Shots).Distinct().Order().ToList();
        var qualities = Cells.Select(c => c.Demonstrations).Distinct().ToList();
        text.AppendLine("| Model | Demonstrations | " + string.Join(" | ", shots.Select(k => $"{k}-shot")) + " | Mean |");
        text.AppendLine("|---|---|" + string.Concat(shots.Select(_ => "---|")) + "---|");
        foreach (string model in models)
        {
            foreach (string quality in qualities)
            {
                var row = shots.Select(k => Cells.Single(c => c.Model == model && c.Shots == k && c.Demonstrations == quality).MeanScore).ToList();
                text.AppendLine($"| {model} | {quality} | " + string.Join(" | ", row.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))) +
                                $" | {row.Average().ToString("F3", System.Globalization.CultureInfo.InvariantCulture)} |");
            }
        }
        var families = Cells.SelectMany(c => c.ByFamily.Keys).Distinct().ToList();
        text.AppendLine();
        text.AppendLine("| Model | Configuration | Correctness | " + string.Join(" | ", families) + " |");
        text.AppendLine("|---|---|---|" + string.Concat(families.Select(_ => "---|")));
        foreach (var cell in Cells.OrderBy(c => models.IndexOf(c.Model)).ThenBy(c => c.Demonstrations).ThenBy(c => c.Shots))
        {
            text.AppendLine($"| {cell.Model} | {cell.Demonstrations} {cell.Shots}-shot | {cell.Correctness.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)} | " +
                            string.Join(" | ", families.Select(f => cell.ByFamily.TryGetValue(f, out double v) ? v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) : "")) + " |");
        }
        return text.ToString();
    }

    internal static string QualityName(Persona persona) => persona.ToString().ToLowerInvariant();
}

/// <summary>
/// Measures the premise of the ALMoST method with the hidden oracle: on eval-split tasks, each model is prompted with
/// 0, 1, 3 and 5 careful or sloppy demonstrations (<see cref="PromptBuilder"/>, <see cref="DemonstrationSet"/>), its
/// answers are generated with any <see cref="ITextGenerator"/> and scored by the <see cref="Oracle"/>. The method
/// needs larger models to beat smaller ones, more careful shots to beat fewer, and careful demonstrations to beat
/// sloppy ones.
/// </summary>
public sealed class PremiseEvaluation
{
    private readonly Oracle _oracle;
    private readonly Dictionary<Persona, DemonstrationSet> _demonstrations;

    /// <summary>Draws the tasks and writes the demonstrations.</summary>
    public PremiseEvaluation(PremiseOptions? options = null, Oracle? oracle = null)
    {
        Options = options ?? new PremiseOptions();
        _oracle = oracle ?? new Oracle();
        Tasks = new TaskGenerator(Options.TaskSeed).Generate(TaskSplit.Eval, Options.TaskCount);
        int most = Options.Shots.DefaultIfEmpty(0).Max();
        _demonstrations = Options.Demonstrations.Distinct()
            .ToDictionary(p => p, p => DemonstrationSet.Create(p, most, Options.DemonstrationSeed));
    }

    /// <summary>The settings.</summary>
    public PremiseOptions Options { get; }

    /// <summary>The eval-split tasks every configuration answers.</summary>
    public IReadOnlyList<TinyTask> Tasks { get; }

    /// <summary>Every shots × quality configuration, in option order (shots outer).</summary>
    public IReadOnlyList<(int Shots, Persona Quality)> Configurations =>
        Options.Shots.SelectMany(k => Options.Demonstrations.Select(q => (k, q))).ToList();

    /// <summary>The prompt of a task with <paramref name="shots"/> demonstrations of <paramref name="quality"/>.</summary>
    public string Prompt(TinyTask task, int shots, Persona quality) =>
        PromptBuilder.Build(_demonstrations[quality], shots, task.Query);

    /// <summary>
    /// Prompts one model with every shots × quality configuration (one batched generation call; 0-shot prompts carry
    /// no demonstrations, so they are generated once and scored for every quality) and scores the answers.
    /// </summary>
    /// <param name="model">The model's name, written into the cells.</param>
    /// <param name="generator">The generator of that model.</param>
    /// <param name="progress">Generation progress.</param>
    /// <param name="cancellationToken">Stops generation.</param>
    /// <returns>One cell per shots × quality, in option order.</returns>
    public async Task<IReadOnlyList<PremiseCell>> EvaluateAsync(
        string model, ITextGenerator generator, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generator);
        var configurations = Configurations;
        var prompts = new List<string>();
        var promptIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var rows = new int[configurations.Count][];
        for (int c = 0; c < configurations.Count; c++)
        {
            rows[c] = new int[Tasks.Count];
            for (int t = 0; t < Tasks.Count; t++)
            {
                string prompt = Prompt(Tasks[t], configurations[c].Shots, configurations[c].Quality);
                if (!promptIndex.TryGetValue(prompt, out int index))
                {
                    index = prompts.Count;
                    promptIndex.Add(prompt, index);
                    prompts.Add(prompt);
                }
                rows[c][t] = index;
            }
        }

        var results = await generator.GenerateAsync(prompts, Options.Generation, progress, cancellationToken).ConfigureAwait(false);
        var cells = new List<PremiseCell>(configurations.Count);
        for (int c = 0; c < configurations.Count; c++)
        {
            // Every sample of every task counts once.
            var scored = Tasks
                .SelectMany((task, t) => results[rows[c][t]].Select(sample => (Task: task, Breakdown: _oracle.Explain(task, sample.Text.Trim()))))
                .ToList();
            cells.Add(new PremiseCell(
                model,
                configurations[c].Shots,
                PremiseReport.QualityName(configurations[c].Quality),
                Tasks.Count,
                scored.Average(s => s.Breakdown.Score),
                scored.Average(s => s.Breakdown.Correctness),
                MeanByFamily(scored.Select(s => (s.Task.Family, s.Breakdown.Score)))));
        }
        return cells;
    }

    /// <summary>The mean of <paramref name="values"/> per task family, keyed by family name in family order.</summary>
    internal static IReadOnlyDictionary<string, double> MeanByFamily(IEnumerable<(TaskFamily Family, double Value)> values) =>
        values.GroupBy(v => v.Family).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(), g => g.Average(v => v.Value));
}
