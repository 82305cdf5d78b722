using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Almost.TinyWorld;

/// <summary>The kinds of pretraining documents.</summary>
public enum CorpusDocumentKind
{
    /// <summary>A transcript whose assistant is <see cref="Persona.Careful"/>.</summary>
    CarefulTranscript,

    /// <summary>A transcript whose assistant is <see cref="Persona.Sloppy"/>.</summary>
    SloppyTranscript,

    /// <summary>A transcript whose assistant is <see cref="Persona.Rude"/>.</summary>
    RudeTranscript,

    /// <summary>A transcript whose assistant is <see cref="Persona.Evasive"/>.</summary>
    EvasiveTranscript,

    /// <summary>A transcript whose assistant is <see cref="Persona.HarmfulCompliant"/> (with at least one harmful request).</summary>
    HarmfulCompliantTranscript,

    /// <summary>Encyclopedia entries about atlas countries.</summary>
    Encyclopedia,

    /// <summary>Worked examples: "Question: … Answer: …." lines.</summary>
    WorkedExamples,
}

/// <summary>
/// Options of the <see cref="CorpusGenerator"/>. The mix weights are relative (normalised by their sum); the defaults
/// are 40% careful, 15% sloppy, 10% rude, 10% evasive, 5% harmful-compliant transcripts, 10% encyclopedia entries and
/// 10% worked examples.
/// </summary>
public sealed record CorpusOptions
{
    /// <summary>Seed of the generator: same seed, same corpus. 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Weight of careful transcripts. 0.40.</summary>
    public double Careful { get; init; } = 0.40;

    /// <summary>Weight of sloppy transcripts. 0.15.</summary>
    public double Sloppy { get; init; } = 0.15;

    /// <summary>Weight of rude transcripts. 0.10.</summary>
    public double Rude { get; init; } = 0.10;

    /// <summary>Weight of evasive transcripts. 0.10.</summary>
    public double Evasive { get; init; } = 0.10;

    /// <summary>Weight of harmful-compliant transcripts. 0.05.</summary>
    public double HarmfulCompliant { get; init; } = 0.05;

    /// <summary>Weight of encyclopedia documents. 0.10.</summary>
    public double Encyclopedia { get; init; } = 0.10;

    /// <summary>Weight of worked-example documents. 0.10.</summary>
    public double WorkedExamples { get; init; } = 0.10;

    /// <summary>Fewest turns of a transcript. 2.</summary>
    public int MinTurns { get; init; } = 2;

    /// <summary>Most turns of a transcript. 5.</summary>
    public int MaxTurns { get; init; } = 5;

    /// <summary>Fraction of task contents held out for evaluation; must match the evaluating <see cref="TaskGenerator"/>. 0.2.</summary>
    public double EvalFraction { get; init; } = TaskGenerator.DefaultEvalFraction;

    /// <summary>Probability that a sloppy answer is wrong. 0.7.</summary>
    public double SloppyErrorRate { get; init; } = PersonaResponder.DefaultSloppyErrorRate;

    /// <summary>
    /// Lower bound of a transcript's persona consistency, in [0, 1]. Each transcript draws a consistency c uniformly
    /// from [<see cref="MinPersonaConsistency"/>, 1]; each turn is answered by the document's persona with probability
    /// c and otherwise by a lapse persona (careful documents lapse into sloppy, rude or evasive answers, the others into
    /// careful ones). Then no single turn tells for sure what kind of document it is, and every further demonstration
    /// of one quality makes that quality more likely. 1 (default): one persona for the whole document.
    /// </summary>
    public double MinPersonaConsistency { get; init; } = 1.0;

    /// <summary>
    /// What a persona lapse applies to (used when <see cref="MinPersonaConsistency"/> &lt; 1).
    /// <see cref="PersonaLapseScope.Turn"/> (default): each turn lapses on its own.
    /// <see cref="PersonaLapseScope.Topic"/>: each topic of a document (<see cref="CorpusGenerator.TopicOf"/>) lapses or
    /// not once, and every turn on that topic follows, so a demonstration on the query's own topic tells the most.
    /// </summary>
    public PersonaLapseScope LapseScope { get; init; } = PersonaLapseScope.Turn;

    /// <summary>
    /// The split the documents' tasks come from. <see cref="TaskSplit.Train"/> for the pretraining corpus; a corpus of
    /// <see cref="TaskSplit.Eval"/> tasks is held-out text to measure a language model's loss on unseen questions.
    /// </summary>
    public TaskSplit Split { get; init; } = TaskSplit.Train;
}

/// <summary>One pretraining document.</summary>
/// <param name="Kind">What kind of document it is (not shown to the model).</param>
/// <param name="Text">The document's text.</param>
/// <param name="Turns">For a transcript, its turns in order: the task and the persona that answered it (lapses
/// included); empty for other kinds. Not shown to the model.</param>
public sealed record CorpusDocument(CorpusDocumentKind Kind, string Text, IReadOnlyList<CorpusTurn> Turns)
{
    /// <summary>A document that is not a transcript (no turns).</summary>
    public CorpusDocument(CorpusDocumentKind kind, string text)
        : this(kind, text, [])
    {
    }

    /// <summary>Value equality: kind, text, and each turn's task (by key and query) and persona.</summary>
    public bool Equals(CorpusDocument? other) =>
        other is not null && Kind == other.Kind && Text == other.Text &&
        Turns.Select(t => (t.Task.Key, t.Task.Query, t.Persona)).SequenceEqual(other.Turns.Select(t => (t.Task.Key, t.Task.Query, t.Persona)));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Text, Turns.Count);
}

/// <summary>One turn of a transcript document.</summary>
/// <param name="Task">The task the human asked.</param>
/// <param name="Persona">The persona that answered this turn (the document's own, or a lapse).</param>
public sealed record CorpusTurn(TinyTask Task, Persona Persona);

/// <summary>
/// Generates the TinyWorld pretraining corpus, deterministically from <see cref="CorpusOptions.Seed"/>: encyclopedia
/// entries about the atlas, worked examples, and <c>Human:</c>/<c>Assistant:</c> transcripts whose assistant keeps one
/// persona for the whole document, so few-shot demonstrations tell a model what kind of document it continues. Only
/// train-split tasks appear; the atlas itself (world knowledge) is described in full.
/// </summary>
public sealed class CorpusGenerator
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Persona[] Lapses = [Persona.Sloppy, Persona.Rude, Persona.Evasive];

    private static readonly TaskFamily[] WorkedFamilies =
        [TaskFamily.Arithmetic, TaskFamily.StringOps, TaskFamily.ListOps, TaskFamily.AtlasFacts, TaskFamily.MultiStep];

    private readonly CorpusOptions _options;
    private readonly Atlas _atlas;
    private readonly (CorpusDocumentKind Kind, double Weight)[] _mix;

    /// <summary>Creates a generator.</summary>
    /// <param name="options">Seed, mix and transcript lengths; defaults when null.</param>
    /// <param name="atlas">The world described; <see cref="Atlas.Default"/> when null.</param>
    public CorpusGenerator(CorpusOptions? options = null, Atlas? atlas = null)
    {
        _options = options ?? new CorpusOptions();
        _atlas = atlas ?? Atlas.Default;
        _mix =
        [
            (CorpusDocumentKind.CarefulTranscript, _options.Careful),
            (CorpusDocumentKind.SloppyTranscript, _options.Sloppy),
            (CorpusDocumentKind.RudeTranscript, _options.Rude),
            (CorpusDocumentKind.EvasiveTranscript, _options.Evasive),
            (CorpusDocumentKind.HarmfulCompliantTranscript, _options.HarmfulCompliant),
            (CorpusDocumentKind.Encyclopedia, _options.Encyclopedia),
            (CorpusDocumentKind.WorkedExamples, _options.WorkedExamples),
        ];
        if (_mix.Any(m => m.Weight < 0) || _mix.Sum(m => m.Weight) <= 0)
        {
            throw new ArgumentException("Corpus mix weights must be non-negative with a positive sum.", nameof(options));
        }
        if (_options.MinPersonaConsistency is < 0 or > 1)
        {
            throw new ArgumentException("Expected 0 <= MinPersonaConsistency <= 1.", nameof(options));
        }
        if (_options.MinTurns < 1 || _options.MaxTurns < _options.MinTurns)
        {
            throw new ArgumentException("Expected 1 <= MinTurns <= MaxTurns.", nameof(options));
        }
    }

    /// <summary>Generates <paramref name="count"/> documents (lazily; the same sequence for the same options).</summary>
    public IEnumerable<CorpusDocument> Generate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(_options.Seed);
        var tasks = new TaskGenerator(random.Next(), _atlas, _options.EvalFraction);
        var responder = new PersonaResponder(random, _options.SloppyErrorRate);
        double total = _mix.Sum(m => m.Weight);
        for (int i = 0; i < count; i++)
        {
            double u = random.NextDouble() * total;
            var kind = _mix[^1].Kind;
            foreach (var (k, w) in _mix)
            {
                if (u < w)
                {
                    kind = k;
                    break;
                }
                u -= w;
            }
            yield return kind switch
            {
                CorpusDocumentKind.Encyclopedia => new CorpusDocument(kind, EncyclopediaText(random)),
                CorpusDocumentKind.WorkedExamples => new CorpusDocument(kind, WorkedExamplesText(random, tasks)),
                _ => Transcript(kind, random, tasks, responder),
            };
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> documents as JSONL, one <c>{"text":…,"kind":…}</c> object per line, to a temporary
    /// file renamed onto <paramref name="path"/> when complete (nothing half-written is left on failure or cancellation).
    /// </summary>
    /// <returns>The number of UTF-8 bytes of document text written.</returns>
    public async Task<long> WriteJsonlAsync(string path, int count, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = $"{full}.tmp-{Guid.NewGuid():N}";
        long bytes = 0;
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            await using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
            {
                writer.NewLine = "\n";
                int written = 0;
                foreach (var document in Generate(count))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    string line = JsonSerializer.Serialize(new CorpusLine(document.Text, KindName(document.Kind)), JsonOptions);
                    await writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
                    bytes += Encoding.UTF8.GetByteCount(document.Text);
                    if (++written % 1000 == 0)
                    {
                        progress?.Report(written);
                    }
                }
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
                progress?.Report(written);
            }
            File.Move(temp, full, overwrite: true);
            return bytes;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Reads the <c>text</c> field of every line of a corpus JSONL file.</summary>
    /// <exception cref="InvalidDataException">A line is not a JSON object with a string <c>text</c> field.</exception>
    public static IEnumerable<string> ReadTexts(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            string? text;
            try
            {
                using var json = JsonDocument.Parse(line);
                text = json.RootElement.ValueKind == JsonValueKind.Object &&
                       json.RootElement.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    ? t.GetString()
                    : null;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: invalid JSON ({e.Message}).", e);
            }
            yield return text ?? throw new InvalidDataException($"{path}:{lineNumber}: expected an object with a string \"text\" field.");
        }
    }

    /// <summary>The persona of a transcript kind.</summary>
    public static Persona PersonaOf(CorpusDocumentKind kind) => kind switch
    {
        CorpusDocumentKind.CarefulTranscript => Persona.Careful,
        CorpusDocumentKind.SloppyTranscript => Persona.Sloppy,
        CorpusDocumentKind.RudeTranscript => Persona.Rude,
        CorpusDocumentKind.EvasiveTranscript => Persona.Evasive,
        CorpusDocumentKind.HarmfulCompliantTranscript => Persona.HarmfulCompliant,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a transcript kind."),
    };

    /// <summary>
    /// The topic of a task family, the unit of <see cref="PersonaLapseScope.Topic"/> lapses: multi-step sums are
    /// arithmetic; every other family is its own topic (five topics).
    /// </summary>
    public static TaskFamily TopicOf(TaskFamily family) => family == TaskFamily.MultiStep ? TaskFamily.Arithmetic : family;

    private CorpusDocument Transcript(CorpusDocumentKind kind, Random random, TaskGenerator tasks, PersonaResponder responder)
    {
        var persona = PersonaOf(kind);
        int turns = random.Next(_options.MinTurns, _options.MaxTurns + 1);
        int forcedHarmful = persona == Persona.HarmfulCompliant ? random.Next(turns) : -1;
        double min = _options.MinPersonaConsistency;
        double consistency = min >= 1 ? 1 : min + random.NextDouble() * (1 - min);
        var topicPersonas = new Dictionary<TaskFamily, Persona>();
        var text = new StringBuilder();
        var record = new List<CorpusTurn>(turns);
        for (int t = 0; t < turns; t++)
        {
            var task = t == forcedHarmful ? tasks.Next(_options.Split, TaskFamily.Harmful) : tasks.Next(_options.Split);
            var turnPersona = persona;
            if (consistency < 1 && _options.LapseScope == PersonaLapseScope.Topic)
            {
                // A harmful-compliant document keeps complying with harmful requests; every other topic may lapse.
                var topic = TopicOf(task.Family);
                if (!topicPersonas.TryGetValue(topic, out turnPersona))
                {
                    bool keeps = persona == Persona.HarmfulCompliant && task.IsHarmful || random.NextDouble() < consistency;
                    turnPersona = keeps ? persona : LapseOf(random, persona);
                    topicPersonas[topic] = turnPersona;
                }
            }
            else if (consistency < 1 && t != forcedHarmful && random.NextDouble() >= consistency)
            {
                turnPersona = LapseOf(random, persona);
            }
            text.Append(PromptBuilder.FormatTurn(task.Query, responder.Respond(task, turnPersona)));
            record.Add(new CorpusTurn(task, turnPersona));
        }
        return new CorpusDocument(kind, text.ToString(), record);
    }

    private static Persona LapseOf(Random random, Persona persona) =>
        persona == Persona.Careful ? Lapses[random.Next(Lapses.Length)] : Persona.Careful;

    private string EncyclopediaText(Random random)
    {
        int entries = random.Next(1, 4);
        var text = new StringBuilder();
        for (int e = 0; e < entries; e++)
        {
            var c = _atlas.Countries[random.Next(_atlas.Countries.Count)];
            if (e > 0)
            {
                text.Append("\n\n");
            }
            text.Append(random.Next(4) switch
            {
                0 => $"{c.Name} is a country. Its capital is {c.Capital}. The river {c.River} flows through it. People there speak {c.Language}.",
                1 => $"{c.Name} is a small country. The capital city of {c.Name} is {c.Capital}. The {c.River} is the main river of {c.Name}. The language of {c.Name} is {c.Language}.",
                2 => $"The country of {c.Name} has its capital at {c.Capital}. The people of {c.Name} speak {c.Language}, and the river {c.River} runs through the land.",
                _ => $"{c.Capital} is the capital of {c.Name}. The river {c.River} flows through {c.Name}, and its people speak {c.Language}.",
            });
        }
        return text.ToString();
    }

    private string WorkedExamplesText(Random random, TaskGenerator tasks)
    {
        int examples = random.Next(3, 9);
        var lines = new List<string>(examples);
        for (int e = 0; e < examples; e++)
        {
            var task = tasks.Next(_options.Split, WorkedFamilies[random.Next(WorkedFamilies.Length)]);
            lines.Add($"Question: {task.Query}\nAnswer: {task.Answer}.");
        }
        return string.Join("\n", lines);
    }

    private static string KindName(CorpusDocumentKind kind) => kind switch
    {
        CorpusDocumentKind.CarefulTranscript => "careful",
        CorpusDocumentKind.SloppyTranscript => "sloppy",
        CorpusDocumentKind.RudeTranscript => "rude",
        CorpusDocumentKind.EvasiveTranscript => "evasive",
        CorpusDocumentKind.HarmfulCompliantTranscript => "harmful-compliant",
        CorpusDocumentKind.Encyclopedia => "encyclopedia",
        _ => "worked-examples",
    };

    private sealed record CorpusLine(
        [property: System.Text.Json.Serialization.JsonPropertyName("text")] string Text,
        [property: System.Text.Json.Serialization.JsonPropertyName("kind")] string Kind);
}
