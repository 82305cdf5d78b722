namespace Almost.Rlhf.Dpo;

/// <summary>The preference loss of <see cref="DpoTrainer"/>.</summary>
public enum DpoLossType
{
    /// <summary>
    /// DPO (Rafailov et al. 2023): <c>−log σ(β·h)</c> with h = (log π_c − log π_ref,c) − (log π_r − log π_ref,r), log-probs
    /// summed over the completion's tokens; with label smoothing ε, <c>−(1−ε)·log σ(β·h) − ε·log σ(−β·h)</c> (robust /
    /// conservative DPO for noisy labels).
    /// </summary>
    Sigmoid,

    /// <summary>IPO (Azar et al. 2023): <c>(h − 1/(2β))²</c> with log-probs averaged over the completion's tokens, as TRL does.</summary>
    Ipo,

    /// <summary>The sigmoid loss on per-token average log-probs, so a longer completion is not favoured for its length alone.</summary>
    LengthNormalized,
}
