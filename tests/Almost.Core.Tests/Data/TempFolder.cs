using System.Text;

namespace Almost.Core.Tests.Data;

/// <summary>A folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "almost-data-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes exact bytes: UTF-8 without BOM unless <paramref name="bom"/>.</summary>
    public string Write(string name, string text, bool bom = false)
    {
        string path = File(name);
        var bytes = new List<byte>();
        if (bom)
        {
            bytes.AddRange([0xEF, 0xBB, 0xBF]);
        }

        bytes.AddRange(Encoding.UTF8.GetBytes(text));
        System.IO.File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
