namespace Almost.Synthetic.Queries;

/// <summary>Why a <see cref="QueryGenerator"/> candidate was rejected (the <see cref="QueryCandidateRecord.Reason"/> values).</summary>
public static class QueryRejection
{
    /// <summary>Nothing left after extracting the query.</summary>
    public const string Empty = "empty";

    /// <summary>Fewer than <see cref="QueryGenerationOptions.MinWords"/> words.</summary>
    public const string TooShort = "too-short";

    /// <summary>More than <see cref="QueryGenerationOptions.MaxWords"/> words.</summary>
    public const string TooLong = "too-long";

    /// <summary>ROUGE-L F1 ≥ <see cref="QueryGenerationOptions.MaxRougeL"/> against a seed or an accepted query.</summary>
    public const string Similar = "similar";

    /// <summary>Overlaps a prompt of the evaluation set (<see cref="NgramDecontaminator"/>).</summary>
    public const string Contaminated = "contaminated";

    /// <summary>Asks an evaluation prompt in other words (<see cref="QueryGenerationOptions.ParaphraseCheck"/>).</summary>
    public const string Paraphrase = "contaminated-paraphrase";
}
