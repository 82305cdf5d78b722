using System.Reflection;
using FluentAssertions;
using Xunit;

namespace Almost.Architecture.Tests;

/// <summary>
/// The wall around TinyWorld's oracle: no pipeline assembly (the three packages, TinyWorld's world and the main job's
/// pipeline) references the audit assembly (answer keys, oracle), directly or through another assembly, and the
/// packages keep their one-way dependencies (Synthetic and Rlhf depend on Core, never on each other).
/// </summary>
public sealed class OracleWallTests
{
    private const string Audit = "Almost.TinyWorld.Audit";

    public static TheoryData<string> PipelineAssemblies => new()
    {
        "Almost.Core", "Almost.Synthetic", "Almost.Rlhf", "Almost.TinyWorld", "Almost.TinyWorld.Pipeline",
    };

    [Theory]
    [MemberData(nameof(PipelineAssemblies))]
    public void Pipeline_assemblies_never_reference_the_audit(string name)
    {
        var closure = AlmostClosure(Assembly.Load(name));
        closure.Should().NotContain(Audit, $"{name} is pipeline code: it must not be able to read an answer key or the oracle");
        if (!name.StartsWith("Almost.TinyWorld", StringComparison.Ordinal))
        {
            closure.Should().NotContain(a => a.StartsWith("Almost.TinyWorld", StringComparison.Ordinal), "the packages know nothing of the testbed");
        }
    }

    [Fact]
    public void Packages_depend_one_way()
    {
        AlmostClosure(Assembly.Load("Almost.Core")).Should().BeEmpty("Core depends on no other Almost assembly");
        AlmostClosure(Assembly.Load("Almost.Synthetic")).Should().Equal(["Almost.Core"], "Synthetic -> Core only");
        AlmostClosure(Assembly.Load("Almost.Rlhf")).Should().Equal(["Almost.Core"], "Rlhf -> Core only");
    }

    [Fact]
    public void The_audit_is_where_the_oracle_lives()
    {
        // The guard above is only meaningful while the oracle is in the audit assembly.
        var audit = Assembly.Load(Audit);
        audit.GetType("Almost.TinyWorld.Oracle").Should().NotBeNull();
        audit.GetType("Almost.TinyWorld.TinyTask").Should().NotBeNull("the answer keys live with the oracle");
        Assembly.Load("Almost.TinyWorld").GetTypes().Should().NotContain(t => t.Name == "Oracle" || t.Name == "TinyTask" || t.Name == "TaskGenerator");
    }

    /// <summary>Every Almost.* assembly reachable by references from <paramref name="root"/> (itself excluded), sorted.</summary>
    private static List<string> AlmostClosure(Assembly root)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<AssemblyName>(root.GetReferencedAssemblies());
        while (queue.Count > 0)
        {
            var next = queue.Dequeue();
            if (next.Name is not { } n || !n.StartsWith("Almost.", StringComparison.Ordinal) || !seen.Add(n))
            {
                continue;
            }

            foreach (var reference in Assembly.Load(next).GetReferencedAssemblies())
            {
                queue.Enqueue(reference);
            }
        }

        return [.. seen];
    }
}
