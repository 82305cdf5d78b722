using Almost.Data;
using Almost.Devices;
using Almost.Generation;
using Almost.Synthetic.Queries;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Synthetic.Prompts;

/// <summary>
/// Answers every query with every prompt configuration: the synthetic responses the rubric ranks. Each configuration
/// is one resumable <see cref="BatchGenerationJob"/> over its prompts, writing <c>{folder}/{name}.prompts.jsonl</c> and
/// <c>{folder}/{name}.jsonl</c>; rerunning after a crash or cancellation completes what is missing and regenerates
/// nothing that is done.
/// </summary>
/// <remarks>
/// Configuration <c>c</c> samples with seed <see cref="Determinism.DeriveSeed"/>(Sampling.Seed, c.Name), so two
/// configurations never share a sampling stream, and chunk seeds follow <see cref="BatchGenerationJob.ChunkSeed"/>.
/// One sample per query and configuration.
/// </remarks>
public sealed class ResponseGenerationJob
{
    private readonly ResponseGenerationOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<ResponseGenerationJob> _logger;

    /// <summary>Creates the job.</summary>
    /// <param name="options">Chunk size; null for defaults.</param>
    /// <param name="loggerFactory">Creates the loggers of this job and its batch jobs; null for none.</param>
    public ResponseGenerationJob(ResponseGenerationOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        options ??= new ResponseGenerationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkSize, 1, nameof(options));
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ResponseGenerationJob>();
    }

    /// <summary>Runs (or resumes) the job.</summary>
    /// <param name="queries">The queries (unique ids).</param>
    /// <param name="configurations">The configurations (unique names that are safe file names).</param>
    /// <param name="outputFolder">Where the per-configuration files go; created when missing.</param>
    /// <param name="progress">Answered prompts over all configurations; may be null.</param>
    /// <param name="cancellationToken">Stops the job between chunks.</param>
    /// <returns>Every configuration's response to every query, in query order.</returns>
    /// <exception cref="ArgumentException">Duplicate query ids or configuration names, a name unfit for a file, more shots than demonstrations, or more than one sample per prompt.</exception>
    public async Task<IReadOnlyList<QueryResponses>> RunAsync(
        IReadOnlyList<SyntheticQuery> queries,
        IReadOnlyList<PromptConfiguration> configurations,
        string outputFolder,
        IProgress<SyntheticProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(configurations);
        ArgumentNullException.ThrowIfNull(outputFolder);
        Check(queries, configurations);
        Directory.CreateDirectory(outputFolder);

        int total = queries.Count * configurations.Count, finished = 0;
        var byConfiguration = new Dictionary<string, Dictionary<string, CompletionRecord>>(StringComparer.Ordinal);
        foreach (var configuration in configurations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string promptsPath = Path.Combine(outputFolder, configuration.Name + ".prompts.jsonl");
            string outputPath = Path.Combine(outputFolder, configuration.Name + ".jsonl");
            await JsonlWriter.WriteAllAsync(
                promptsPath,
                queries.Select(q => new PromptRecord { Id = q.Id, Prompt = configuration.BuildPrompt(q.Text) }),
                cancellationToken: cancellationToken).ConfigureAwait(false);

            var sampling = configuration.Sampling with
            {
                Seed = Determinism.DeriveSeed(configuration.Sampling.Seed, configuration.Name),
                StopStrings = [.. configuration.Sampling.StopStrings.Concat(configuration.Template.ChatTemplate.StopStrings).Distinct()],
            };
            var job = new BatchGenerationJob(
                configuration.Generator,
                new BatchGenerationOptions { ChunkSize = _options.ChunkSize, Generation = sampling },
                _loggerFactory.CreateLogger<BatchGenerationJob>());
            int before = finished;
            var jobProgress = progress is null
                ? null
                : new InlineProgress<BatchGenerationProgress>(p =>
                    progress.Report(new SyntheticProgress("responses", before + p.CompletedPrompts, total, configuration.Name)));
            var summary = await job.RunAsync(promptsPath, outputPath, jobProgress, cancellationToken).ConfigureAwait(false);
            finished += queries.Count;
            _logger.LogInformation(
                "{Configuration}: {Generated} generated, {Resumed} resumed", configuration.Name, summary.GeneratedThisRun, summary.ResumedPrompts);

            var records = new Dictionary<string, CompletionRecord>(StringComparer.Ordinal);
            await foreach (var record in JsonlReader.ReadAsync<CompletionRecord>(outputPath, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                records.TryAdd(record.Id, record);
            }

            byConfiguration[configuration.Name] = records;
        }

        var result = new List<QueryResponses>(queries.Count);
        var template = configurations.Count > 0 ? configurations[0].Template : PromptTemplate.Transcript;
        foreach (var query in queries)
        {
            var responses = new List<ConfigurationResponse>(configurations.Count);
            foreach (var configuration in configurations)
            {
                if (byConfiguration[configuration.Name].TryGetValue(query.Id, out var record))
                {
                    responses.Add(new ConfigurationResponse(
                        configuration.Name, configuration.Template.CutReply(record.Completion), record.FinishReason));
                }
            }

            result.Add(new QueryResponses(query, template.ComparisonPrompt(query.Text), responses));
        }

        return result;
    }

    private static void Check(IReadOnlyList<SyntheticQuery> queries, IReadOnlyList<PromptConfiguration> configurations)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            if (!ids.Add(query.Id))
            {
                throw new ArgumentException($"Query id '{query.Id}' appears more than once.", nameof(queries));
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var configuration in configurations)
        {
            if (!names.Add(configuration.Name))
            {
                throw new ArgumentException($"Configuration name '{configuration.Name}' appears more than once.", nameof(configurations));
            }

            if (configuration.Name.Length == 0 || configuration.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || configuration.Name.Contains('/'))
            {
                throw new ArgumentException($"Configuration name '{configuration.Name}' cannot be a file name.", nameof(configurations));
            }

            int available = configuration.Demonstrations?.Dialogues.Count ?? 0;
            if (configuration.Shots < 0 || configuration.Shots > available)
            {
                throw new ArgumentException(
                    $"Configuration '{configuration.Name}' asks for {configuration.Shots} shots; its demonstration set holds {available}.",
                    nameof(configurations));
            }

            if (configuration.Sampling.SamplesPerPrompt != 1)
            {
                throw new ArgumentException(
                    $"Configuration '{configuration.Name}' asks for {configuration.Sampling.SamplesPerPrompt} samples per prompt; pairing uses one response per configuration.",
                    nameof(configurations));
            }
        }
    }
}
