using System.Globalization;
using Almost.Data;
using Almost.IO;
using Almost.Synthetic.Prompts;

namespace Almost.TinyWorld.Zoo;

/// <summary>
/// <c>world</c>: writes the public world files a pipeline may read (see <see cref="TinyWorldFiles"/>) from the audit
/// side, which knows the tasks: seed queries, the evaluation prompt set in every wording (no answers), careful and
/// sloppy demonstration dialogues of train-split tasks, and the pretraining sample (the first encyclopedia and
/// worked-example documents of the zoo's own training corpus). Deterministic; the files are committed under <c>zoo/world/</c>.
/// </summary>
internal static class WorldCommand
{
    /// <summary>Seed of the seed-query tasks (the feedback verb's default).</summary>
    public const int SeedQuerySeed = 1;

    /// <summary>Seed of the evaluation task set; evaluation code regenerates the same tasks from it.</summary>
    public const int EvaluationSeed = PolicyEvaluation.EvaluationSeed;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        string Option(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var files = new TinyWorldFiles(Option("--zoo", TinyWorldFiles.FindZoo()));
        int seedTasks = int.Parse(Option("--seed-tasks", "30"), CultureInfo.InvariantCulture);
        int evalTasks = int.Parse(Option("--eval-tasks", TinyWorldFiles.EvaluationTaskCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int sampleDocuments = int.Parse(Option("--pretraining-sample", "600"), CultureInfo.InvariantCulture);
        Directory.CreateDirectory(files.WorldFolder);

        var seeds = new TaskGenerator(SeedQuerySeed).Generate(TaskSplit.Train, seedTasks).Select(t => t.Query).Distinct().ToList();
        AtomicFile.WriteAllText(files.SeedQueriesPath, string.Join('\n', seeds) + "\n");

        var parser = new TaskQueryParser();
        var evalWordings = new TaskGenerator(EvaluationSeed).Generate(TaskSplit.Eval, evalTasks).SelectMany(parser.Wordings).Distinct().ToList();
        AtomicFile.WriteAllText(files.EvaluationPromptsPath, string.Join('\n', evalWordings) + "\n");

        foreach (var persona in new[] { Persona.Careful, Persona.Sloppy })
        {
            var name = persona.ToString().ToLowerInvariant();
            var dialogues = new DemonstrationDialogues(name, DemonstrationTranscripts.ToMessages(DemonstrationSet.Create(persona, 5, seed: 5)));
            await dialogues.SaveAsync(files.DemonstrationsPath(name), cancellationToken);
        }

        // The zoo's training corpus, regenerated from the options its manifest records (the same documents in the same
        // order), knowledge documents only: the transcripts' mixed-quality personas are what alignment moves away from.
        var corpus = ZooManifest.Load(files.ZooFolder).Corpus;
        var sample = new CorpusGenerator(ZooCorpus.CorpusOptionsOf(corpus, corpus.Seed, TaskSplit.Train)).Generate(corpus.TrainDocuments)
            .Where(d => d.Kind is CorpusDocumentKind.Encyclopedia or CorpusDocumentKind.WorkedExamples)
            .Take(sampleDocuments).Select(d => new TextRecord { Text = d.Text }).ToList();
        await JsonlWriter.WriteAllAsync(files.PretrainingSamplePath, sample, cancellationToken: cancellationToken);

        Console.WriteLine($"world files in {files.WorldFolder}: {seeds.Count} seed queries, {evalWordings.Count} evaluation prompts, " +
                          $"careful and sloppy demonstrations, {sample.Count} pretraining-sample documents");
        return 0;
    }
}
