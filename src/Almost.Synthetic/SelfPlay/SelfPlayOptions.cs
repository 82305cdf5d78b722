namespace Almost.Synthetic.SelfPlay;

/// <summary>Options of <see cref="RewardModelSelfPlay"/>.</summary>
public sealed record SelfPlayOptions
{
    /// <summary>
    /// Assistant turns per dialogue at most. Default 2: the opening query and one follow-up, enough to teach the
    /// policy multi-turn context without letting small user simulators drift (ALMoST used a few turns).
    /// </summary>
    public int MaxTurns { get; init; } = 2;

    /// <summary>
    /// Candidates sampled per assistant turn; the reward model keeps the best. Default 4, the paper's N. 1 is plain
    /// self-play (the ablation): the single sample is kept, and the reward model still scores it.
    /// </summary>
    public int CandidatesPerTurn { get; init; } = 4;

    /// <summary>
    /// Dialogues advanced together (one generator call per turn and role for the whole chunk) and written together.
    /// Default 16. A chunk's dialogues depend only on its queries and the seed, so a resumed run reproduces an
    /// uninterrupted one for the same chunk size.
    /// </summary>
    public int ChunkSize { get; init; } = 16;

    /// <summary>Seed of every sample (derived per chunk, turn and role). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// Replies shorter than this many characters (after trimming) end the dialogue instead of being kept; default 1
    /// (only empty replies end it).
    /// </summary>
    public int MinReplyLength { get; init; } = 1;

    /// <summary>
    /// Weight of the candidates' agreement in the selection: the kept candidate maximises
    /// <c>reward + ConsensusWeight × consensus</c>, where consensus is its mean ROUGE-L F1 with the turn's other
    /// candidates (<see cref="CandidateConsensus"/>). Default 0: the paper's rule, the reward model's argmax. A large
    /// weight picks by consensus and breaks near-ties by reward (minimum-Bayes-risk selection); the TinyWorld main job
    /// uses 8, chosen on train-split tasks (docs/pipeline.md), because its small reward model separates samples of one
    /// configuration barely better than chance.
    /// </summary>
    public double ConsensusWeight { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (MaxTurns < 1)
        {
            throw new ArgumentException($"SelfPlayOptions.MaxTurns must be >= 1 (got {MaxTurns}).", nameof(MaxTurns));
        }

        if (CandidatesPerTurn < 1)
        {
            throw new ArgumentException($"SelfPlayOptions.CandidatesPerTurn must be >= 1 (got {CandidatesPerTurn}).", nameof(CandidatesPerTurn));
        }

        if (ChunkSize < 1)
        {
            throw new ArgumentException($"SelfPlayOptions.ChunkSize must be >= 1 (got {ChunkSize}).", nameof(ChunkSize));
        }

        if (!(ConsensusWeight >= 0) || double.IsInfinity(ConsensusWeight))
        {
            throw new ArgumentException($"SelfPlayOptions.ConsensusWeight must be finite and >= 0 (got {ConsensusWeight}).", nameof(ConsensusWeight));
        }

        if (MinReplyLength < 1)
        {
            throw new ArgumentException($"SelfPlayOptions.MinReplyLength must be >= 1 (got {MinReplyLength}).", nameof(MinReplyLength));
        }
    }
}
