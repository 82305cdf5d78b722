using Almost.Data;

namespace Almost.Synthetic.SelfPlay;

/// <summary>
/// One self-play dialogue as a JSONL line: TRL <c>messages</c> (so SFT reads it as a <see cref="ConversationRecord"/>)
/// plus <c>id</c> and, per assistant turn, the reward model's scores of the candidates and which one was kept.
/// </summary>
public sealed record SelfPlayRecord
{
    /// <summary>The dialogue's id: the index of its opening query in the query list.</summary>
    public required string Id { get; init; }

    /// <summary>The dialogue: user and assistant turns, alternating, starting with the user.</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>One entry per assistant turn, in order.</summary>
    public required IReadOnlyList<SelfPlayTurn> Turns { get; init; }

    /// <summary>The dialogue as a TRL conversation record (for SFT).</summary>
    /// <returns>The record.</returns>
    public ConversationRecord ToConversation() => new() { Messages = Messages };

    /// <summary>The SFT demonstrations among <paramref name="records"/>: every dialogue with at least one assistant turn.</summary>
    /// <param name="records">Self-play output.</param>
    /// <returns>The conversations, in order.</returns>
    public static IReadOnlyList<ConversationRecord> ToDemonstrations(IEnumerable<SelfPlayRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Where(r => r.Turns.Count > 0).Select(r => r.ToConversation()).ToList();
    }
}

/// <summary>The reward model's view of one assistant turn of a <see cref="SelfPlayRecord"/>.</summary>
/// <param name="ChosenIndex">Index of the kept candidate in <paramref name="CandidateScores"/>.</param>
/// <param name="ChosenScore">Its reward.</param>
/// <param name="CandidateScores">Rewards of all N candidates, in sampling order.</param>
/// <param name="Candidates">
/// The N candidate replies, in sampling order (null in files written before they were kept). They let an audit measure
/// what the selection gained (the kept reply against a random or the best candidate by another judge), and make each
/// turn's candidates usable as preference pairs.
/// </param>
/// <param name="Consensus">
/// Each candidate's agreement with the others (<see cref="CandidateConsensus"/>) when the selection weighed it
/// (<see cref="SelfPlayOptions.ConsensusWeight"/> &gt; 0); null when the reward alone chose.
/// </param>
public sealed record SelfPlayTurn(
    int ChosenIndex, double ChosenScore, IReadOnlyList<double> CandidateScores, IReadOnlyList<string>? Candidates = null, IReadOnlyList<double>? Consensus = null);

/// <summary>Progress of a self-play run.</summary>
/// <param name="CompletedDialogues">Dialogues written so far (including those of an earlier, interrupted run).</param>
/// <param name="TotalDialogues">Dialogues the run will write.</param>
public readonly record struct SelfPlayProgress(int CompletedDialogues, int TotalDialogues);
