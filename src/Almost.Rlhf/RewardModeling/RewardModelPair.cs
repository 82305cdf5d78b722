namespace Almost.Rlhf.RewardModeling;

/// <summary>One encoded comparison: the token ids of prompt + chosen and of prompt + rejected, and the required margin.</summary>
/// <param name="Chosen">Ids of the preferred sequence, encoded by <see cref="Scoring.RewardSequenceEncoder"/>.</param>
/// <param name="Rejected">Ids of the dispreferred sequence.</param>
/// <param name="Margin">How much higher the chosen reward should be: the loss is <c>−log σ(r_c − r_r − Margin)</c>. 0 for a plain Bradley–Terry pair.</param>
public sealed record RewardModelPair(int[] Chosen, int[] Rejected, double Margin = 0);
