namespace Almost.TinyWorld.Zoo;

/// <summary>The corpus and tokenizer settings every zoo model is pretrained with (the same tokens for every size).</summary>
public sealed record ZooCorpusOptions
{
    /// <summary>Seed of the training corpus (<c>CorpusOptions.Seed</c>). 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Training documents (train-split tasks only). 22,000 (about 2.9M tokens with transcripts of 2–8 turns).</summary>
    public int TrainDocuments { get; init; } = 22_000;

    /// <summary>Seed of the held-out corpus, whose documents use eval-split tasks only. 1001.</summary>
    public int EvalSeed { get; init; } = 1001;

    /// <summary>
    /// <c>CorpusOptions.MinPersonaConsistency</c> of both corpora. 0.5: a transcript keeps its persona on each
    /// turn with a probability drawn from [0.5, 1], so one careful demonstration does not settle what kind of document
    /// a prompt is (careful documents are rare, <see cref="CarefulShare"/>, and other documents lapse into careful
    /// answers), and each further careful shot makes a careful document likelier.
    /// </summary>
    public double MinPersonaConsistency { get; init; } = 0.5;

    /// <summary>
    /// Fraction of the transcripts that are careful, in (0, 1). 0.15: careful documents are rare, so a model needs
    /// several careful turns, not one, to be confident it continues one. The other transcript kinds keep their default
    /// proportions among themselves, and transcripts stay 80% of the documents; 0.5 is the <c>CorpusOptions</c>
    /// default mix (40% of all documents careful), bit for bit.
    /// </summary>
    public double CarefulShare { get; init; } = 0.15;

    /// <summary>
    /// <c>CorpusOptions.LapseScope</c> of both corpora: whether a persona lapse applies to one turn or to every
    /// turn on one topic of a document. <see cref="PersonaLapseScope.Turn"/>.
    /// </summary>
    public PersonaLapseScope LapseScope { get; init; } = PersonaLapseScope.Turn;

    /// <summary><c>CorpusOptions.MinTurns</c> of both corpora: the fewest turns of a transcript. 2.</summary>
    public int MinTurns { get; init; } = 2;

    /// <summary>
    /// <c>CorpusOptions.MaxTurns</c> of both corpora: the most turns of a transcript. 8. A k-shot prompt is a
    /// transcript of k + 1 turns, so this bounds the shot counts the models have seen in distribution (5 shots: 6 turns).
    /// </summary>
    public int MaxTurns { get; init; } = 8;

    /// <summary>Held-out documents the eval loss is measured on. 400.</summary>
    public int EvalDocuments { get; init; } = 400;

    /// <summary>Tokenizer vocabulary size (<see cref="BpeTrainerOptions.VocabSize"/>). 1536.</summary>
    public int VocabSize { get; init; } = 1536;

    /// <summary>Tokens per training sequence; documents are packed back to back, each followed by <c>&lt;|endoftext|&gt;</c>. 256.</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>How many held-out blocks make the cheap "check loss" stored in <c>zoo.json</c> and re-measured by tests. 8.</summary>
    public int CheckSequences { get; init; } = 8;
}
