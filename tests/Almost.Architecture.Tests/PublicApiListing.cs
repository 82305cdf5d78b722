using System.Reflection;
using System.Text;

namespace Almost.Architecture.Tests;

/// <summary>
/// The public surface of an assembly as sorted text lines: every public type (kind, name, base types) and every public
/// or protected member (signature). A snapshot of it is committed, so a change to the surface shows up in review.
/// </summary>
internal static class PublicApiListing
{
    private const BindingFlags Members = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string Of(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add(TypeLine(type));
            foreach (var member in type.GetMembers(Members))
            {
                var line = MemberLine(type, member);
                if (line is not null)
                {
                    lines.Add("  " + line);
                }
            }
        }

        var text = new StringBuilder();
        string? currentType = null;
        foreach (var line in lines)
        {
            if (!line.StartsWith("  ", StringComparison.Ordinal))
            {
                currentType = line;
            }

            text.Append(line).Append('\n');
        }

        _ = currentType;
        return SortMembers(text.ToString());
    }

    /// <summary>Keeps type order, sorts the member lines under each type (reflection order is not stable).</summary>
    private static string SortMembers(string listing)
    {
        var output = new StringBuilder();
        var block = new List<string>();
        void Flush()
        {
            foreach (var l in block.Order(StringComparer.Ordinal).Distinct())
            {
                output.Append(l).Append('\n');
            }

            block.Clear();
        }

        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("  ", StringComparison.Ordinal))
            {
                block.Add(line);
            }
            else
            {
                Flush();
                output.Append(line).Append('\n');
            }
        }

        Flush();
        return output.ToString();
    }

    private static string TypeLine(Type type)
    {
        var kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : "class";
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum))
        {
            bases.Add(Name(b));
        }

        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(Name).Order(StringComparer.Ordinal));
        return $"{kind} {Name(type)}" + (bases.Count > 0 ? " : " + string.Join(", ", bases) : "");
    }

    private static string? MemberLine(Type owner, MemberInfo member)
    {
        switch (member)
        {
            case ConstructorInfo c when Visible(c):
                return $"ctor({Parameters(c.GetParameters())})";
            case MethodInfo m when Visible(m) && !m.IsSpecialName:
                return $"{(m.IsStatic ? "static " : "")}{Name(m.ReturnType)} {m.Name}{Generic(m)}({Parameters(m.GetParameters())})";
            case PropertyInfo p when (p.GetMethod is { } g && Visible(g)) || (p.SetMethod is { } s && Visible(s)):
                var accessors = (p.GetMethod is { } get && Visible(get) ? "get; " : "") + (p.SetMethod is { } set && Visible(set) ? (IsInit(set) ? "init; " : "set; ") : "");
                return $"{(p.GetMethod?.IsStatic == true ? "static " : "")}{Name(p.PropertyType)} {p.Name} {{ {accessors}}}";
            case FieldInfo f when f.IsPublic || f.IsFamily:
                if (owner.IsEnum && f.IsSpecialName)
                {
                    return null;
                }

                return owner.IsEnum ? $"{f.Name} = {f.GetRawConstantValue()}" : $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}";
            case EventInfo e when e.AddMethod is { } add && Visible(add):
                return $"event {Name(e.EventHandlerType!)} {e.Name}";
            default:
                return null;
        }
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    private static bool IsInit(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit");

    private static string Generic(MethodInfo m) => m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "";

    private static string Parameters(ParameterInfo[] parameters) =>
        string.Join(", ", parameters.Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type t)
    {
        if (t.IsGenericParameter)
        {
            return t.Name;
        }

        if (t.IsArray)
        {
            return Name(t.GetElementType()!) + "[]";
        }

        if (t.IsByRef)
        {
            return Name(t.GetElementType()!) + "&";
        }

        var name = (t.IsNested ? Name(t.DeclaringType!) + "." : t.Namespace + ".") + t.Name;
        if (t.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)] + "<" + string.Join(", ", t.GetGenericArguments().Select(Name)) + ">";
        }

        return name;
    }
}
