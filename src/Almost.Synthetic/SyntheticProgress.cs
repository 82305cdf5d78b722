namespace Almost.Synthetic;

/// <summary>Progress of a synthetic-feedback step, reported after resuming and after each unit of work.</summary>
/// <param name="Step">Which step: <c>"queries"</c>, <c>"responses"</c>, <c>"validation"</c>, <c>"audit"</c>.</param>
/// <param name="Completed">Units done, earlier runs included (accepted queries, answered prompts, validated folds, judged pairs).</param>
/// <param name="Total">Units the step aims for.</param>
/// <param name="Detail">A short human-readable note (e.g. the configuration being answered), or null.</param>
public readonly record struct SyntheticProgress(string Step, int Completed, int Total, string? Detail = null);
