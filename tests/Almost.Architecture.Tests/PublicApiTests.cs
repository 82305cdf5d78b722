using System.Reflection;
using FluentAssertions;
using Xunit;

namespace Almost.Architecture.Tests;

/// <summary>
/// The public API of each package is snapshotted in <c>PublicApi/{assembly}.txt</c>; any change to the surface fails
/// this test until the snapshot is updated, so surface changes are deliberate and visible in review. To accept a
/// change: run the tests with <c>ALMOST_UPDATE_PUBLIC_API=1</c> (it rewrites the files in the source tree) and commit
/// the diff.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string> Packages => new() { "Almost.Core", "Almost.Synthetic", "Almost.Rlhf" };

    [Theory]
    [MemberData(nameof(Packages))]
    public void Public_api_matches_the_committed_snapshot(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        var actual = PublicApiListing.Of(assembly);
        // The committed snapshot is copied next to the test binaries (CI builds map source paths, so the source
        // folder is found by walking up to the solution only when updating).
        var sourceFile = Path.Combine(AppContext.BaseDirectory, "PublicApi", assemblyName + ".txt");
        if (Environment.GetEnvironmentVariable("ALMOST_UPDATE_PUBLIC_API") == "1")
        {
            var committed = Path.Combine(SourceFolder(), "PublicApi", assemblyName + ".txt");
            Directory.CreateDirectory(Path.GetDirectoryName(committed)!);
            File.WriteAllText(committed, actual);
            File.WriteAllText(sourceFile, actual);
        }

        File.Exists(sourceFile).Should().BeTrue($"the snapshot {sourceFile} must be committed (run with ALMOST_UPDATE_PUBLIC_API=1 to create it)");
        var expected = File.ReadAllText(sourceFile).ReplaceLineEndings("\n");
        var added = actual.Split('\n').Except(expected.Split('\n')).ToList();
        var removed = expected.Split('\n').Except(actual.Split('\n')).ToList();
        (added.Count + removed.Count).Should().Be(0,
            $"the public API of {assemblyName} changed; if deliberate, rerun with ALMOST_UPDATE_PUBLIC_API=1 and commit. " +
            $"Added:\n{string.Join('\n', added.Take(40))}\nRemoved:\n{string.Join('\n', removed.Take(40))}");
    }

    [Fact]
    public void Every_public_type_has_xml_documentation()
    {
        foreach (var name in new[] { "Almost.Core", "Almost.Synthetic", "Almost.Rlhf" })
        {
            var assembly = Assembly.Load(name);
            var xml = Path.ChangeExtension(assembly.Location, ".xml");
            File.Exists(xml).Should().BeTrue($"{name} ships its XML documentation");
            var docs = File.ReadAllText(xml);
            var undocumented = assembly.GetExportedTypes().Where(t => !docs.Contains($"\"T:{t.FullName!.Replace('+', '.')}\"", StringComparison.Ordinal)).Select(t => t.FullName).ToList();
            undocumented.Should().BeEmpty($"every public type of {name} has an XML doc comment");
        }
    }

    /// <summary>The test project's source folder: found above the binaries, at the folder holding Almost.sln.</summary>
    private static string SourceFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Almost.sln")))
            {
                return Path.Combine(directory.FullName, "tests", "Almost.Architecture.Tests");
            }
        }

        throw new DirectoryNotFoundException($"No Almost.sln above {AppContext.BaseDirectory}.");
    }
}
