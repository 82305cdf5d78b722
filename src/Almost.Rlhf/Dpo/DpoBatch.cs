using Almost.Models.Llama;
using Almost.Rlhf.Training;
using static TorchSharp.torch;

namespace Almost.Rlhf.Dpo;

/// <summary>
/// A micro-batch of B comparisons as 2B right-padded rows — the B chosen sequences, then the B rejected ones — so both
/// go through the model in one forward, with a mask on the completion tokens of each row's targets.
/// </summary>
public sealed class DpoBatch : ITrainingBatch
{
    private DpoBatch(Tensor inputIds, Tensor attentionMask, Tensor completionMask, Tensor tokens, Tensor? referenceLogProbs, int pairs, long inputTokens)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        CompletionMask = completionMask;
        CompletionTokens = tokens;
        ReferenceLogProbs = referenceLogProbs;
        Pairs = pairs;
        InputTokens = inputTokens;
    }

    /// <summary>(2B, T) token ids: chosen rows 0..B−1, rejected rows B..2B−1.</summary>
    public Tensor InputIds { get; }

    /// <summary>(2B, T) 1 on real tokens.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>(2B, T−1) 1 where the target token (position t+1) belongs to the completion.</summary>
    public Tensor CompletionMask { get; }

    /// <summary>(2B) completion tokens of each row, fp32.</summary>
    public Tensor CompletionTokens { get; }

    /// <summary>(2B) cached reference log-probs, when every example has them; else null.</summary>
    public Tensor? ReferenceLogProbs { get; }

    /// <summary>Comparisons in the batch (B).</summary>
    public int Pairs { get; }

    /// <inheritdoc />
    public long LossUnits => Pairs;

    /// <inheritdoc />
    public long InputTokens { get; }

    /// <summary>Collates <paramref name="examples"/> on <paramref name="device"/>.</summary>
    /// <param name="examples">The comparisons.</param>
    /// <param name="padTokenId">Id written into padding (masked out everywhere).</param>
    /// <param name="device">Target device.</param>
    /// <returns>The batch.</returns>
    public static DpoBatch Collate(IReadOnlyList<DpoExample> examples, int padTokenId, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        int b = examples.Count;
        var rows = examples.Select(e => (e.PromptIds, e.ChosenIds)).Concat(examples.Select(e => (e.PromptIds, Completion: e.RejectedIds))).ToArray();
        long t = rows.Max(r => r.Item1.Length + r.Item2.Length);
        var ids = new long[2 * b * t];
        var mask = new long[ids.Length];
        var completion = new float[2 * b * (t - 1)];
        var tokens = new float[2 * b];
        Array.Fill(ids, padTokenId);
        long real = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            var (prompt, reply) = rows[r];
            for (int i = 0; i < prompt.Length + reply.Length; i++)
            {
                ids[(r * t) + i] = i < prompt.Length ? prompt[i] : reply[i - prompt.Length];
                mask[(r * t) + i] = 1;
                if (i >= prompt.Length && i >= 1)
                {
                    completion[(r * (t - 1)) + i - 1] = 1;   // target position i is predicted from position i − 1
                }
            }

            tokens[r] = reply.Length;
            real += prompt.Length + reply.Length;
        }

        Tensor? reference = examples.All(e => e.ReferenceChosen is not null && e.ReferenceRejected is not null)
            ? tensor(examples.Select(e => e.ReferenceChosen!.Value).Concat(examples.Select(e => e.ReferenceRejected!.Value)).ToArray(), device: device)
            : null;
        return new DpoBatch(
            tensor(ids, [2 * b, t], device: device),
            tensor(mask, [2 * b, t], device: device),
            tensor(completion, [2 * b, t - 1], device: device),
            tensor(tokens, device: device),
            reference,
            b,
            real);
    }

    /// <summary>(2B) the summed log-probabilities of each row's completion under <paramref name="model"/>; prompt tokens never count.</summary>
    /// <param name="model">The policy or the reference.</param>
    /// <returns>The sums, fp32 (with a graph when grad is enabled).</returns>
    public Tensor CompletionLogProbs(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var tokenLogProbs = model.TokenLogProbs(InputIds, AttentionMask);                      // (2B, T−1)
        return (tokenLogProbs * CompletionMask).sum(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        CompletionMask.Dispose();
        CompletionTokens.Dispose();
        ReferenceLogProbs?.Dispose();
    }
}
