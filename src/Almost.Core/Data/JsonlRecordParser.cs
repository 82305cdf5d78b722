using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Almost.Data;

/// <summary>
/// Parses one JSONL line into a record and, when it does not fit, says why in words a user can act on
/// ("missing required field 'chosen' (expected a string)"). The expected shape comes from the serializer's own
/// contract for the type: <c>required</c> members and constructor parameters without defaults are required,
/// nullable annotations decide where null is allowed, and nested objects and arrays are checked with a field path
/// such as <c>messages[1].role</c>.
/// </summary>
internal static class JsonlRecordParser
{
    private const int MaxDepth = 64;

    public static bool TryParse<T>(ReadOnlyMemory<byte> line, JsonTypeInfo<T> typeInfo, out T value, out string? error)
    {
        value = default!;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON, expected one JSON object per line ({ex.Message})";
            return false;
        }

        using (document)
        {
            error = Validate(document.RootElement, typeInfo, path: null, allowNull: false, depth: 0);
            if (error is not null)
            {
                return false;
            }

            try
            {
                value = document.RootElement.Deserialize(typeInfo)!;
                if (value is null)
                {
                    error = $"expected {Describe(typeInfo)}, found null";
                    return false;
                }

                error = (value as IJsonlRecordCheck)?.Problem();
                return error is null;
            }
            catch (JsonException ex)
            {
                error = ex.Path is { Length: > 1 } p
                    ? $"field '{p.TrimStart('$', '.')}' could not be read ({ex.Message})"
                    : $"value could not be read as {Describe(typeInfo)} ({ex.Message})";
                return false;
            }
        }
    }

    private static string? Validate(JsonElement value, JsonTypeInfo typeInfo, string? path, bool allowNull, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(typeInfo.Type);
        if (value.ValueKind == JsonValueKind.Null)
        {
            if (allowNull || underlying is not null || AcceptsAnyJson(typeInfo.Type))
            {
                return null;
            }

            return path is null
                ? $"expected {Describe(typeInfo)}, found null"
                : $"field '{path}' is null (expected {Describe(typeInfo)})";
        }

        if (underlying is not null)
        {
            typeInfo = typeInfo.Options.GetTypeInfo(underlying);
        }

        if (!Accepts(typeInfo, value.ValueKind))
        {
            return path is null
                ? $"expected {Describe(typeInfo)}, found {KindName(value.ValueKind)}"
                : $"field '{path}' has the wrong type (expected {Describe(typeInfo)}, found {KindName(value.ValueKind)})";
        }

        if (depth >= MaxDepth)
        {
            return null;
        }

        var options = typeInfo.Options;
        switch (typeInfo.Kind)
        {
            case JsonTypeInfoKind.Object:
                foreach (var property in typeInfo.Properties)
                {
                    if (property.IsExtensionData || (property.Set is null && property.AssociatedParameter is null))
                    {
                        continue;
                    }

                    string childPath = path is null ? property.Name : $"{path}.{property.Name}";
                    bool required = property.IsRequired
                        || (options.RespectRequiredConstructorParameters && property.AssociatedParameter is { HasDefaultValue: false });
                    if (!value.TryGetProperty(property.Name, out var child))
                    {
                        if (required)
                        {
                            var expected = options.GetTypeInfo(property.PropertyType);
                            return $"missing required field '{childPath}' (expected {Describe(expected)})";
                        }

                        continue;
                    }

                    if (property.CustomConverter is not null && child.ValueKind != JsonValueKind.Null)
                    {
                        continue; // the converter decides; its JsonException is reported with the field path
                    }

                    bool nullable = property.AssociatedParameter?.IsNullable ?? property.IsSetNullable;
                    string? error = Validate(child, options.GetTypeInfo(property.PropertyType), childPath, nullable, depth + 1);
                    if (error is not null)
                    {
                        return error;
                    }
                }

                return null;

            case JsonTypeInfoKind.Enumerable when typeInfo.ElementType is { } elementType:
            {
                var elementInfo = options.GetTypeInfo(elementType);
                int index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    string? error = Validate(item, elementInfo, $"{path}[{index}]", allowNull: false, depth + 1);
                    if (error is not null)
                    {
                        return error;
                    }

                    index++;
                }

                return null;
            }

            case JsonTypeInfoKind.Dictionary when typeInfo.ElementType is { } valueType:
            {
                var valueInfo = options.GetTypeInfo(valueType);
                foreach (var entry in value.EnumerateObject())
                {
                    string childPath = path is null ? entry.Name : $"{path}.{entry.Name}";
                    string? error = Validate(entry.Value, valueInfo, childPath, allowNull: false, depth + 1);
                    if (error is not null)
                    {
                        return error;
                    }
                }

                return null;
            }

            default:
                return null;
        }
    }

    private static bool AcceptsAnyJson(Type type) =>
        type == typeof(JsonElement) || type == typeof(object) || typeof(JsonNode).IsAssignableFrom(type) || type == typeof(JsonDocument);

    private static bool Accepts(JsonTypeInfo typeInfo, JsonValueKind kind)
    {
        switch (typeInfo.Kind)
        {
            case JsonTypeInfoKind.Object:
            case JsonTypeInfoKind.Dictionary:
                return kind == JsonValueKind.Object;
            case JsonTypeInfoKind.Enumerable:
                return kind == JsonValueKind.Array;
        }

        var type = typeInfo.Type;
        if (AcceptsAnyJson(type))
        {
            return true;
        }

        if (type == typeof(string) || type == typeof(char) || type == typeof(Guid) || type == typeof(DateTime)
            || type == typeof(DateTimeOffset) || type == typeof(TimeSpan) || type == typeof(Uri))
        {
            return kind == JsonValueKind.String;
        }

        if (type == typeof(bool))
        {
            return kind is JsonValueKind.True or JsonValueKind.False;
        }

        if (type.IsEnum)
        {
            return kind is JsonValueKind.String or JsonValueKind.Number;
        }

        if (IsNumber(type))
        {
            return kind == JsonValueKind.Number || (kind == JsonValueKind.String
                && (typeInfo.Options.NumberHandling & System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString) != 0);
        }

        return true; // unknown leaf type: its converter decides
    }

    private static bool IsNumber(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
        || type == typeof(sbyte) || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort)
        || type == typeof(float) || type == typeof(double) || type == typeof(decimal) || type == typeof(Half);

    private static string Describe(JsonTypeInfo typeInfo)
    {
        var type = Nullable.GetUnderlyingType(typeInfo.Type) ?? typeInfo.Type;
        return typeInfo.Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "a JSON object",
            JsonTypeInfoKind.Enumerable => "an array",
            _ when type == typeof(bool) => "true or false",
            _ when IsNumber(type) => "a number",
            _ when AcceptsAnyJson(type) => "a JSON value",
            _ => "a string",
        };
    }

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
