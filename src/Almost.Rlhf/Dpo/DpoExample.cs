namespace Almost.Rlhf.Dpo;

/// <summary>
/// One tokenized comparison: the prompt's ids and each completion's ids (ending with EOS), plus, once computed, the
/// reference model's summed log-probabilities of the two completions (so the reference need not stay in memory).
/// </summary>
/// <param name="PromptIds">The prompt (context only, no loss).</param>
/// <param name="ChosenIds">The chosen completion.</param>
/// <param name="RejectedIds">The rejected completion.</param>
/// <param name="ReferenceChosen">log π_ref(chosen | prompt), summed over its tokens; null until cached.</param>
/// <param name="ReferenceRejected">log π_ref(rejected | prompt); null until cached.</param>
public sealed record DpoExample(int[] PromptIds, int[] ChosenIds, int[] RejectedIds, float? ReferenceChosen = null, float? ReferenceRejected = null);
