using System.Text.Json;
using Almost.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Generation;

/// <summary>
/// Completes every prompt of a JSONL file with an <see cref="ITextGenerator"/> and appends one
/// <see cref="CompletionRecord"/> per prompt to a JSONL output, in prompt order, chunk by chunk. The run is resumable:
/// rerun it with the same input, output and options after a crash or cancellation and it repairs a torn final line,
/// skips the prompts whose records are complete, and appends the rest, so the output ends with exactly one complete
/// record per prompt.
/// </summary>
/// <remarks>
/// <para><b>Input.</b> <see cref="PromptRecord"/> lines: <c>{"prompt": ..., "id": ...}</c>. Without <c>"id"</c>, a prompt's
/// id is its 0-based line index in the file (blank lines count), so ids stay stable when lines are edited in place.
/// Ids must be unique. Other fields are copied to the output record.</para>
/// <para><b>Chunks and seeds.</b> Prompts are cut into chunks of <see cref="BatchGenerationOptions.ChunkSize"/> by their
/// 0-based position in the input: chunk <c>k</c> holds positions <c>[k·N, (k+1)·N)</c>. Each chunk is one generator call
/// with <see cref="GenerationOptions.Seed"/> replaced by <see cref="ChunkSeed"/>(Seed, k·N). A chunk's samples depend only
/// on its prompts and that seed, never on what ran before, so a resumed run produces the same records as an
/// uninterrupted one for the same input, chunk size, options and generator/device. When a crash left a chunk partly
/// written, the whole chunk is generated again (same batch, same seed) and only its missing records are appended.</para>
/// <para><b>Cancellation.</b> The token is checked before each chunk and passed to the generator. A chunk whose
/// generation finished is always written whole; records are never half-written (see <see cref="JsonlWriter"/>).</para>
/// </remarks>
public sealed class BatchGenerationJob
{
    private static readonly HashSet<string> ReservedFields = ["id", "prompt", "completion", "finish_reason", "logprobs", "samples"];

    private readonly ITextGenerator _generator;
    private readonly BatchGenerationOptions _options;
    private readonly ILogger<BatchGenerationJob> _logger;

    /// <summary>Creates the job.</summary>
    /// <param name="generator">Produces the completions.</param>
    /// <param name="options">Chunk size and sampling settings; null for defaults.</param>
    /// <param name="logger">Receives resume and per-chunk messages; null for none.</param>
    public BatchGenerationJob(ITextGenerator generator, BatchGenerationOptions? options = null, ILogger<BatchGenerationJob>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        options ??= new BatchGenerationOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkSize, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.Generation, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Generation.SamplesPerPrompt, 1, nameof(options));
        _generator = generator;
        _options = options;
        _logger = logger ?? NullLogger<BatchGenerationJob>.Instance;
    }

    /// <summary>
    /// The seed of the chunk whose first prompt is at 0-based position <paramref name="firstPromptIndex"/>: a SplitMix64
    /// mix of the base seed and the position, non-negative. Different chunks get unrelated seeds; the same chunk always
    /// gets the same one, which is what makes a resumed run reproduce an uninterrupted one.
    /// </summary>
    /// <param name="seed">The base seed, <see cref="GenerationOptions.Seed"/>.</param>
    /// <param name="firstPromptIndex">0-based position of the chunk's first prompt in the input.</param>
    /// <returns>The chunk's seed.</returns>
    public static long ChunkSeed(long seed, int firstPromptIndex)
    {
        unchecked
        {
            ulong z = (ulong)seed + (0x9E3779B97F4A7C15UL * ((ulong)(uint)firstPromptIndex + 1));
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (long)(z & long.MaxValue);
        }
    }

    /// <summary>Runs (or resumes) the job.</summary>
    /// <param name="promptsPath">Input JSONL of <see cref="PromptRecord"/>; must hold at least one prompt.</param>
    /// <param name="outputPath">Output JSONL of <see cref="CompletionRecord"/>; created when missing, appended to otherwise.</param>
    /// <param name="progress">Receives progress after resuming and after each chunk; may be null.</param>
    /// <param name="cancellationToken">Stops the job between chunks (and inside the generator).</param>
    /// <returns>What this run did.</returns>
    /// <exception cref="JsonlFormatException">A malformed or empty prompts file, a duplicate id, or a corrupt output line before the last.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; every record written so far is complete.</exception>
    public async Task<BatchGenerationSummary> RunAsync(
        string promptsPath,
        string outputPath,
        IProgress<BatchGenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptsPath);
        ArgumentNullException.ThrowIfNull(outputPath);

        var prompts = await ReadPromptsAsync(promptsPath, cancellationToken).ConfigureAwait(false);
        var resume = await JsonlResume.RepairAsync<CompletionRecord>(outputPath, r => r.Id, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (resume.WasRepaired)
        {
            _logger.LogWarning(
                "Repaired {OutputPath}: {Repair}", outputPath, resume.Describe());
        }

        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prompt in prompts)
        {
            if (resume.CompletedIds.Contains(prompt.Id))
            {
                done.Add(prompt.Id);
            }
        }

        if (resume.CompleteRecords > done.Count)
        {
            _logger.LogWarning(
                "{OutputPath} holds {Extra} record(s) whose id is not among the prompts of {PromptsPath} (or repeated)",
                outputPath, resume.CompleteRecords - done.Count, promptsPath);
        }

        int resumed = done.Count, generated = 0, total = prompts.Count;
        if (resumed > 0)
        {
            _logger.LogInformation("Resuming {OutputPath}: {Done} of {Total} prompts already complete", outputPath, resumed, total);
        }

        progress?.Report(new BatchGenerationProgress(done.Count, total, 0, resumed));

        await using var writer = JsonlWriter.Open(outputPath);
        int chunkSize = _options.ChunkSize;
        for (int first = 0; first < total; first += chunkSize)
        {
            var chunk = prompts.GetRange(first, Math.Min(chunkSize, total - first));
            if (chunk.TrueForAll(p => done.Contains(p.Id)))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var generation = _options.Generation with { Seed = ChunkSeed(_options.Generation.Seed, first) };
            var results = await _generator.GenerateAsync(
                chunk.ConvertAll(p => p.Prompt), generation, progress: null, cancellationToken).ConfigureAwait(false);
            CheckResults(results, chunk.Count);

            var records = new List<CompletionRecord>(chunk.Count);
            for (int i = 0; i < chunk.Count; i++)
            {
                if (!done.Contains(chunk[i].Id))
                {
                    records.Add(ToRecord(chunk[i], results[i]));
                }
            }

            await writer.WriteManyAsync(records, CancellationToken.None).ConfigureAwait(false);
            foreach (var record in records)
            {
                done.Add(record.Id);
            }

            generated += records.Count;
            _logger.LogInformation(
                "Chunk at prompt {First}: wrote {Count} record(s), {Done}/{Total} complete", first, records.Count, done.Count, total);
            progress?.Report(new BatchGenerationProgress(done.Count, total, generated, resumed));
        }

        _logger.LogInformation("Finished {OutputPath}: {Total} prompts, {Generated} generated in this run", outputPath, total, generated);
        return new BatchGenerationSummary(total, resumed, generated, resume.TruncatedBytes);
    }

    private static async Task<List<PendingPrompt>> ReadPromptsAsync(string path, CancellationToken cancellationToken)
    {
        var prompts = new List<PendingPrompt>();
        var firstLineOfId = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var entry in JsonlReader.ReadEntriesAsync<PromptRecord>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            string id = entry.Record.Id ?? (entry.LineNumber - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!firstLineOfId.TryAdd(id, entry.LineNumber))
            {
                throw new JsonlFormatException(path, entry.LineNumber,
                    $"duplicate id '{id}' (first used at line {firstLineOfId[id]}); prompt ids must be unique");
            }

            prompts.Add(new PendingPrompt(id, entry.Record.Prompt, entry.Record.Extra));
        }

        if (prompts.Count == 0)
        {
            throw new JsonlFormatException(path, 0, "empty dataset (expected at least one {\"prompt\": ...} line)");
        }

        return prompts;
    }

    private void CheckResults(IReadOnlyList<IReadOnlyList<GenerationResult>> results, int prompts)
    {
        if (results is null || results.Count != prompts)
        {
            throw new InvalidOperationException(
                $"{_generator.GetType().Name} returned {results?.Count ?? 0} result lists for {prompts} prompts.");
        }

        foreach (var samples in results)
        {
            if (samples is null || samples.Count == 0)
            {
                throw new InvalidOperationException($"{_generator.GetType().Name} returned no sample for a prompt.");
            }
        }
    }

    private CompletionRecord ToRecord(PendingPrompt prompt, IReadOnlyList<GenerationResult> samples)
    {
        var first = samples[0];
        Dictionary<string, JsonElement>? extra = null;
        if (prompt.Extra is { Count: > 0 })
        {
            extra = prompt.Extra.Where(kv => !ReservedFields.Contains(kv.Key)).ToDictionary();
        }

        return new CompletionRecord
        {
            Id = prompt.Id,
            Prompt = prompt.Prompt,
            Completion = first.Text,
            FinishReason = first.FinishReason,
            Logprobs = first.LogProbs,
            Samples = _options.Generation.SamplesPerPrompt > 1 || samples.Count > 1
                ? samples.Select(s => new CompletionSample { Completion = s.Text, FinishReason = s.FinishReason, Logprobs = s.LogProbs }).ToList()
                : null,
            Extra = extra is { Count: > 0 } ? extra : null,
        };
    }

    private sealed record PendingPrompt(string Id, string Prompt, Dictionary<string, JsonElement>? Extra);
}
