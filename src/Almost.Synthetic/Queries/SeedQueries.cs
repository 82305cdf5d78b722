namespace Almost.Synthetic.Queries;

/// <summary>
/// Seed queries from a text file in the ALMoST reference's layout (<c>seed_prompts.txt</c>): one query per line, blank
/// lines skipped, and an optional first line <c>"### Instruction: ..."</c> that is the instruction for the
/// query-generation prompt rather than a query.
/// </summary>
/// <param name="Instruction">The instruction line's text, or null when the file has none.</param>
/// <param name="Queries">The seed queries, in file order.</param>
public sealed record SeedQueries(string? Instruction, IReadOnlyList<string> Queries)
{
    private const string InstructionPrefix = "### Instruction:";

    /// <summary>Reads a seed file.</summary>
    /// <param name="path">The text file.</param>
    /// <returns>The instruction and the queries.</returns>
    /// <exception cref="InvalidDataException">The file holds no query.</exception>
    public static SeedQueries Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? instruction = null;
        var queries = new List<string>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (lineNumber == 1 && line.StartsWith(InstructionPrefix, StringComparison.Ordinal))
            {
                instruction = line[InstructionPrefix.Length..].Trim();
                continue;
            }

            queries.Add(line);
        }

        if (queries.Count == 0)
        {
            throw new InvalidDataException($"{path}: no seed query (expected one query per line after an optional '{InstructionPrefix}' line).");
        }

        return new SeedQueries(instruction, queries);
    }
}
