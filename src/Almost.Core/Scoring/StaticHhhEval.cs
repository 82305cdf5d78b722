using System.Text.Json;
using Almost.Tokenization;

namespace Almost.Scoring;

/// <summary>
/// The Static HHH alignment set (BIG-bench; the ALMoST paper's reward-model benchmark): 221 pairs, helpful 59,
/// harmless 58, honest 61, other 43, shipped as <c>hhh_eval.json</c> (in this project:
/// <c>../shared/data/almost-eval/hhh_eval.json</c>), a JSON array of <c>{"chosen", "rejected", "type"}</c> whose sides
/// are full <c>\n\nHuman: …\n\nAssistant: …</c> transcripts differing only in the last assistant turn.
/// </summary>
public static class StaticHhhEval
{
    /// <summary>The categories, in the paper's order.</summary>
    public static IReadOnlyList<string> Categories { get; } = ["helpful", "harmless", "honest", "other"];

    /// <summary>Reads the file and splits each pair into prompt and final turns.</summary>
    /// <param name="path">The <c>hhh_eval.json</c> file.</param>
    /// <returns>The pairs, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not a JSON array of objects with string <c>chosen</c>, <c>rejected</c> and <c>type</c>, a transcript has
    /// no assistant turn, or the two sides differ before their last assistant turn (the message names the file and the
    /// 0-based item).
    /// </exception>
    public static IReadOnlyList<StaticHhhPair> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No Static HHH file at '{path}' (expected hhh_eval.json, e.g. ../shared/data/almost-eval/hhh_eval.json).", path);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: malformed JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{path}: expected a JSON array of {{\"chosen\", \"rejected\", \"type\"}} objects, found {document.RootElement.ValueKind}.");
            }

            var pairs = new List<StaticHhhPair>();
            var index = 0;
            foreach (var item in document.RootElement.EnumerateArray())
            {
                pairs.Add(Parse(item, $"{path} item {index}"));
                index++;
            }

            return pairs;
        }
    }

    /// <summary>Loads the set and evaluates <paramref name="rewardModel"/> on it, overall and per category.</summary>
    /// <param name="rewardModel">The scorer.</param>
    /// <param name="path">The <c>hhh_eval.json</c> file.</param>
    /// <param name="cancellationToken">Stops the scoring between batches.</param>
    /// <returns>The accuracy; <see cref="PairwiseEvaluationResult.ByCategory"/> has the four categories.</returns>
    public static Task<PairwiseEvaluationResult> EvaluateAsync(IRewardModel rewardModel, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        var pairs = Load(path);
        return PairwiseEvaluation.EvaluateAsync(
            rewardModel, pairs.Select(p => p.ToPreferenceRecord()).ToArray(), pairs.Select(p => p.Category).ToArray(), cancellationToken);
    }

    private static StaticHhhPair Parse(JsonElement item, string where)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{where}: expected an object {{\"chosen\", \"rejected\", \"type\"}}, found {item.ValueKind}.");
        }

        string Field(string name) =>
            !item.TryGetProperty(name, out var value) ? throw new InvalidDataException($"{where}: missing field '{name}' (expected a string).")
            : value.ValueKind != JsonValueKind.String ? throw new InvalidDataException($"{where}: field '{name}' is {value.ValueKind}; expected a string.")
            : value.GetString()!;

        string chosen = Field("chosen"), rejected = Field("rejected"), type = Field("type");
        int c = chosen.LastIndexOf(AlmostTranscript.AssistantPrefix, StringComparison.Ordinal);
        int r = rejected.LastIndexOf(AlmostTranscript.AssistantPrefix, StringComparison.Ordinal);
        if (c < 0 || r < 0)
        {
            throw new InvalidDataException($"{where}: field '{(c < 0 ? "chosen" : "rejected")}' has no \"\\n\\nAssistant:\" turn.");
        }

        var cut = AlmostTranscript.AssistantPrefix.Length;
        if (!chosen.AsSpan(0, c + cut).SequenceEqual(rejected.AsSpan(0, r + cut)))
        {
            throw new InvalidDataException($"{where}: 'chosen' and 'rejected' differ before their last assistant turn; expected one shared context.");
        }

        return new StaticHhhPair(type, chosen[..(c + cut)], chosen[(c + cut)..], rejected[(r + cut)..]);
    }
}
