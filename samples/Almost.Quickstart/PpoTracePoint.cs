using Almost.Data;
using Almost.Rlhf.Ppo;
using Almost.TinyWorld;

namespace Almost.Quickstart;

/// <summary>One PPO step as the audit sees it: the reward model's mean score and the oracle's mean score of the rollout.</summary>
internal sealed record PpoTracePoint(long Step, double RewardModel, double Oracle, double ResponseLength)
{
    /// <summary>An observer that scores each rollout with the oracle (evaluation code; the trainer never sees it).</summary>
    public static Action<PpoRolloutSummary> Observer(PolicyEvaluation audit, List<PpoTracePoint> trace) => summary =>
    {
        var oracle = summary.Prompts.Select((p, i) => audit.Score(p, summary.Responses[i])).Where(s => s is not null).Select(s => s!.Value).DefaultIfEmpty(double.NaN).Average();
        trace.Add(new PpoTracePoint(summary.Step, summary.Scores.Average(), oracle, summary.Responses.Average(r => r.Length)));
    };

    /// <summary>Appends the trace to a JSONL file (when the stage ran in this process).</summary>
    public static void Save(string path, IReadOnlyList<PpoTracePoint> trace)
    {
        if (trace.Count > 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            JsonlWriter.WriteAllAsync(path, trace).GetAwaiter().GetResult();
        }
    }

    /// <summary>Reads a saved trace; empty when there is none.</summary>
    public static IReadOnlyList<PpoTracePoint> Load(string path) =>
        File.Exists(path) ? JsonlReader.ReadAllAsync<PpoTracePoint>(path).GetAwaiter().GetResult().Records : [];
}
