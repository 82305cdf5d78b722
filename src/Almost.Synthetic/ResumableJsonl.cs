using Almost.Data;
using Microsoft.Extensions.Logging;

namespace Almost.Synthetic;

/// <summary>The resume step every synthetic-feedback output shares: repair a torn final line, then read the complete records.</summary>
internal static class ResumableJsonl
{
    public static async Task<List<T>> RepairAndReadAsync<T>(string path, Func<T, string?> id, ILogger logger, CancellationToken cancellationToken)
    {
        var resume = await JsonlResume.RepairAsync(path, id, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (resume.WasRepaired)
        {
            logger.LogWarning("Repaired {OutputPath}: final line {LineNumber} was incomplete ({Bytes} bytes removed)",
                path, resume.RepairedLineNumber, resume.TruncatedBytes);
        }

        var records = new List<T>(resume.CompleteRecords);
        if (File.Exists(path))
        {
            await foreach (var record in JsonlReader.ReadAsync<T>(path, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                records.Add(record);
            }
        }

        return records;
    }
}
