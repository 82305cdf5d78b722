namespace Almost.Data;

/// <summary>
/// A record with rules beyond field types (a preference needs non-empty responses). <see cref="JsonlReader"/> calls
/// <see cref="Problem"/> after a line parses and reports the answer with the file and line, like a type error.
/// </summary>
internal interface IJsonlRecordCheck
{
    /// <summary>What is wrong with the record, in words naming the field and what was expected; null when it is fine.</summary>
    string? Problem();
}
