namespace Almost.Generation;

/// <summary>Settings of a <see cref="BatchGenerationJob"/>.</summary>
public sealed record BatchGenerationOptions
{
    /// <summary>
    /// Prompts per call to the generator, and the unit of progress, cancellation and seeding. Default 32.
    /// Keep it fixed across a run and its resumptions: the samples depend on it (see <see cref="BatchGenerationJob.ChunkSeed"/>).
    /// </summary>
    public int ChunkSize { get; init; } = 32;

    /// <summary>
    /// Sampling settings passed to the generator. <see cref="GenerationOptions.Seed"/> is the job's base seed: each chunk
    /// is generated with <see cref="BatchGenerationJob.ChunkSeed"/>(Seed, index of the chunk's first prompt).
    /// </summary>
    public GenerationOptions Generation { get; init; } = new();
}

/// <summary>Progress of a <see cref="BatchGenerationJob"/>, reported after resuming and after each chunk.</summary>
/// <param name="CompletedPrompts">Prompts with a complete record in the output, earlier runs included.</param>
/// <param name="TotalPrompts">Prompts in the input.</param>
/// <param name="GeneratedThisRun">Records this run appended.</param>
/// <param name="ResumedPrompts">Prompts that were already complete when this run started.</param>
public readonly record struct BatchGenerationProgress(int CompletedPrompts, int TotalPrompts, int GeneratedThisRun, int ResumedPrompts);

/// <summary>What a finished <see cref="BatchGenerationJob"/> run did.</summary>
/// <param name="TotalPrompts">Prompts in the input; the output now holds one record for each.</param>
/// <param name="ResumedPrompts">Prompts that were already complete when the run started.</param>
/// <param name="GeneratedThisRun">Records this run appended.</param>
/// <param name="RepairedBytes">Bytes of a torn final line removed from the output before appending; 0 when none.</param>
public sealed record BatchGenerationSummary(int TotalPrompts, int ResumedPrompts, int GeneratedThisRun, long RepairedBytes);
