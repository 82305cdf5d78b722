namespace Almost.Synthetic.Prompts;

/// <summary>Settings of a <see cref="ResponseGenerationJob"/>.</summary>
public sealed record ResponseGenerationOptions
{
    /// <summary>
    /// Queries per generator call, and the unit of resume and seeding (see <see cref="Generation.BatchGenerationJob"/>).
    /// Keep it fixed across a run and its resumptions. Default 32.
    /// </summary>
    public int ChunkSize { get; init; } = 32;
}
