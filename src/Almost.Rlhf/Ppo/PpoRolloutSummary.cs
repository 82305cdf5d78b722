namespace Almost.Rlhf.Ppo;

/// <summary>
/// What one PPO rollout produced, in text: handed to <see cref="PpoTrainer.RolloutCompleted"/> so a caller can audit
/// the policy as it trains (an evaluation harness may judge the responses, e.g. to detect reward hacking).
/// </summary>
/// <param name="Step">The 1-based iteration.</param>
/// <param name="Prompts">The prompt of each sequence (repeated per sample).</param>
/// <param name="Responses">The response text of each sequence (cut before the stop string, trimmed).</param>
/// <param name="Scores">The reward model's raw score of each sequence.</param>
public sealed record PpoRolloutSummary(long Step, IReadOnlyList<string> Prompts, IReadOnlyList<string> Responses, IReadOnlyList<double> Scores);
