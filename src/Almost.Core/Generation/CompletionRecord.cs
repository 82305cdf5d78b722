using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Generation;

/// <summary>
/// One line of a <see cref="BatchGenerationJob"/> output:
/// <c>{"id", "prompt", "completion", "finish_reason", "logprobs"?, "samples"?}</c>. It is also a valid TRL
/// prompt-completion record (<see cref="Almost.Data.DatasetFormat.PromptCompletion"/>).
/// </summary>
public sealed record CompletionRecord
{
    /// <summary>The prompt's id: its <c>"id"</c> field, or its 0-based line index in the prompts file.</summary>
    public required string Id { get; init; }

    /// <summary>The prompt text.</summary>
    public required string Prompt { get; init; }

    /// <summary>The first sample's text.</summary>
    public required string Completion { get; init; }

    /// <summary>Why the first sample stopped (<c>"eos"</c>, <c>"stop"</c> or <c>"length"</c>).</summary>
    public required FinishReason FinishReason { get; init; }

    /// <summary>The first sample's per-token log-probabilities, when requested and available; else null (omitted).</summary>
    public IReadOnlyList<float>? Logprobs { get; init; }

    /// <summary>All samples, the first included, when more than one was asked for per prompt; else null (omitted).</summary>
    public IReadOnlyList<CompletionSample>? Samples { get; init; }

    /// <summary>
    /// Fields of the prompt line other than <c>prompt</c> and <c>id</c> (metadata travels with the prompt), and any
    /// unknown fields when read back; null when there are none.
    /// </summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }
}

/// <summary>One sample in <see cref="CompletionRecord.Samples"/>.</summary>
public sealed record CompletionSample
{
    /// <summary>The sample's text.</summary>
    public required string Completion { get; init; }

    /// <summary>Why the sample stopped.</summary>
    public required FinishReason FinishReason { get; init; }

    /// <summary>Per-token log-probabilities, when requested and available; else null (omitted).</summary>
    public IReadOnlyList<float>? Logprobs { get; init; }
}
