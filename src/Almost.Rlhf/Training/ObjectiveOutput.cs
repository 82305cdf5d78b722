using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// A metric of one micro-batch as an on-device sum plus a host-known count, so the loop can average it over any
/// interval (Σ sums / Σ counts) without copying anything to the host until it logs.
/// </summary>
/// <param name="Sum">0-d fp32 tensor: the metric summed over the batch's units (no graph needed; the loop detaches it).</param>
/// <param name="Count">How many units <paramref name="Sum"/> adds up (pairs for accuracy, tokens for a per-token mean, ...).</param>
public readonly record struct MetricSum(Tensor Sum, long Count);

/// <summary>
/// What an objective computes for one micro-batch: the loss summed over the batch's
/// <see cref="ITrainingBatch.LossUnits"/> (the loop divides by the units of the whole optimizer step) and named
/// metrics (reward-model accuracy and margins, DPO rewards, ...), each averaged by the loop over its logging interval
/// and written to <c>metrics.jsonl</c> under its name.
/// </summary>
/// <param name="LossSum">0-d fp32 tensor with a graph to the trained parameters.</param>
/// <param name="Metrics">Named metrics of the batch; null for none. Names are snake_case JSON keys (<c>accuracy</c>, <c>margin</c>).</param>
public readonly record struct ObjectiveOutput(Tensor LossSum, IReadOnlyDictionary<string, MetricSum>? Metrics = null);
