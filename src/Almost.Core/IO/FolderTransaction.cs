using System.Text.Json;
using System.Text.RegularExpressions;

namespace Almost.IO;

/// <summary>
/// Replaces several files of one folder together (weights, index, config.json; a tokenizer's four files): every new
/// file is first written whole and flushed under a temporary name, then a journal listing the renames and deletions
/// is written atomically, then they are applied and the journal removed. A kill before the journal exists leaves the
/// old files untouched (plus temporaries); a kill after it is rolled forward by the next save or load of the folder
/// (<see cref="Recover"/>). Either way no reader ever pairs new weights with an old or missing config.
/// </summary>
/// <remarks>Concurrent saves into one folder are not supported.</remarks>
internal sealed partial class FolderTransaction : IDisposable
{
    /// <summary>The journal's name: present only between "all new files are on disk" and "all renames are done".</summary>
    public const string JournalFileName = ".almost-save.journal";

    private readonly List<(string Temporary, string Final)> _renames = [];
    private readonly HashSet<string> _deletes = new(StringComparer.Ordinal);
    private bool _committed;

    private FolderTransaction(string folder) => Folder = folder;

    /// <summary>The folder (full path).</summary>
    public string Folder { get; }

    /// <summary>Starts a transaction on <paramref name="folder"/> (created when missing), finishing or cleaning up an interrupted earlier one.</summary>
    public static FolderTransaction Begin(string folder)
    {
        var full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        Recover(full, deleteAllTemporaries: true);
        return new FolderTransaction(full);
    }

    /// <summary>Writes <paramref name="fileName"/>'s new content to a flushed temporary; it replaces the file at <see cref="Commit"/>.</summary>
    public void Write(string fileName, Action<Stream> write)
    {
        var final = Path.Combine(Folder, fileName);
        _deletes.Remove(fileName);
        _renames.Add((AtomicFile.WriteTemporary(final, write), final));
        FaultInjection?.Invoke("written", final);
    }

    /// <summary>
    /// Test hook standing in for a crash: called with ("written", final path) after each temporary is on disk and
    /// ("renamed", final path) after each rename of a commit; throwing from it stops the save right there.
    /// </summary>
    internal static Action<string, string>? FaultInjection { get; set; }

    /// <summary>Deletes <paramref name="fileName"/> at <see cref="Commit"/> (unless it is also written).</summary>
    public void Delete(string fileName)
    {
        if (_renames.All(r => Path.GetFileName(r.Final) != fileName))
        {
            _deletes.Add(fileName);
        }
    }

    /// <summary>Applies every write and deletion: journal first, so a kill in between is rolled forward later.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        var journal = new Journal(
            [.. _renames.Select(r => new JournalRename(Path.GetFileName(r.Temporary), Path.GetFileName(r.Final)))],
            [.. _deletes.Order(StringComparer.Ordinal)]);
        AtomicFile.WriteJson(Path.Combine(Folder, JournalFileName), journal);
        _committed = true;
        Apply(Folder, journal);
    }

    /// <summary>Deletes the temporaries of an uncommitted transaction (a failed write); the old files stay as they were.</summary>
    public void Dispose()
    {
        if (!_committed)
        {
            _committed = true;
            foreach (var (temporary, _) in _renames)
            {
                AtomicFile.TryDelete(temporary);
            }
        }
    }

    /// <summary>
    /// Finishes a save of <paramref name="folder"/> that was killed after its journal was written, and removes
    /// temporaries (<c>.*.{32 hex}.tmp</c>) of saves killed earlier. Loads pass
    /// <paramref name="deleteAllTemporaries"/> = false and then remove only temporaries an hour old, so a load never
    /// pulls the files from under a save that is still running.
    /// </summary>
    /// <param name="folder">The folder; nothing happens when it does not exist.</param>
    /// <param name="deleteAllTemporaries">True for a save (which owns the folder), false for a load.</param>
    public static void Recover(string folder, bool deleteAllTemporaries = false)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        try
        {
            var journalPath = Path.Combine(folder, JournalFileName);
            if (File.Exists(journalPath) && ReadJournal(journalPath) is { } journal)
            {
                Apply(folder, journal);
            }

            var cutoff = DateTime.UtcNow - TimeSpan.FromHours(1);
            foreach (var path in Directory.EnumerateFiles(folder, ".*.tmp"))
            {
                if (TemporaryPattern().IsMatch(Path.GetFileName(path)) && (deleteAllTemporaries || File.GetLastWriteTimeUtc(path) < cutoff))
                {
                    AtomicFile.TryDelete(path);
                }
            }
        }
        catch (UnauthorizedAccessException)
        {
            // A read-only folder: a load still works on whatever is there; the next save by its owner cleans up.
        }
    }

    private static Journal? ReadJournal(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Journal>(File.ReadAllBytes(path));
        }
        catch (JsonException)
        {
            // Written atomically, so a bad journal is not a torn one; without it, the old files are still in place.
            AtomicFile.TryDelete(path);
            return null;
        }
    }

    private static void Apply(string folder, Journal journal)
    {
        foreach (var name in journal.Deletes)
        {
            File.Delete(Path.Combine(folder, Path.GetFileName(name)));
        }

        foreach (var rename in journal.Renames)
        {
            var temporary = Path.Combine(folder, Path.GetFileName(rename.Temporary));
            if (File.Exists(temporary))
            {
                var final = Path.Combine(folder, Path.GetFileName(rename.Final));
                File.Move(temporary, final, overwrite: true);
                FaultInjection?.Invoke("renamed", final);
            }
        }

        File.Delete(Path.Combine(folder, JournalFileName));
    }

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryPattern();

    private sealed record Journal(IReadOnlyList<JournalRename> Renames, IReadOnlyList<string> Deletes);

    private sealed record JournalRename(string Temporary, string Final);
}
