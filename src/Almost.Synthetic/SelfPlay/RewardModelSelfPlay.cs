using Almost.Data;
using Almost.Devices;
using Almost.Generation;
using Almost.Scoring;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Synthetic.SelfPlay;

/// <summary>
/// Reward-model-guided self-play (RMSP, ALMoST stage 2): a prompted user simulator and a prompted assistant talk for a
/// few turns; at every assistant turn N candidates are sampled and the <see cref="IRewardModel"/>'s best is kept
/// (optionally weighed with the candidates' agreement, <see cref="SelfPlayOptions.ConsensusWeight"/>). The
/// dialogues are the synthetic demonstrations for supervised fine-tuning.
/// </summary>
/// <remarks>
/// <para>
/// Each dialogue opens with a query from the given list. At turn <c>t</c> the assistant is prompted with its
/// <see cref="SelfPlayRole.Preamble"/> followed by the dialogue so far in the <see cref="AlmostTranscript"/> format and
/// <c>"\n\nAssistant:"</c>; the reward model scores each candidate against the dialogue alone (no demonstrations):
/// <c>RewardModelInput(AlmostTranscript.Format(dialogue, true), " " + reply)</c>, the form SFT and PPO also use.
/// After each assistant turn but the last, the user simulator writes the next user turn from its own preamble plus the
/// dialogue plus <c>"\n\nHuman:"</c>. A dialogue ends after <see cref="SelfPlayOptions.MaxTurns"/> assistant turns, or
/// earlier when the user simulator or the kept reply is empty.
/// </para>
/// <para>
/// Output: one <see cref="SelfPlayRecord"/> JSONL line per dialogue, in query order, written chunk by chunk. Seeds are
/// derived from (seed, chunk, turn, role), so a chunk depends only on its queries: rerun the same call after a crash
/// and the torn last line is repaired, finished dialogues are skipped, and a partly written chunk is regenerated
/// whole with only its missing records appended.
/// </para>
/// </remarks>
public sealed class RewardModelSelfPlay
{
    private readonly SelfPlayRole _user;
    private readonly SelfPlayRole _assistant;
    private readonly IRewardModel _rewardModel;
    private readonly SelfPlayOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the job.</summary>
    /// <param name="user">The user simulator.</param>
    /// <param name="assistant">The assistant (a vanilla model with the best demonstrations).</param>
    /// <param name="rewardModel">Picks the best of each turn's candidates.</param>
    /// <param name="options">Turns, candidates, chunking and seed; null for defaults.</param>
    /// <param name="logger">Receives resume and per-chunk lines; null for none.</param>
    public RewardModelSelfPlay(
        SelfPlayRole user,
        SelfPlayRole assistant,
        IRewardModel rewardModel,
        SelfPlayOptions? options = null,
        ILogger<RewardModelSelfPlay>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(assistant);
        ArgumentNullException.ThrowIfNull(rewardModel);
        _options = options ?? new SelfPlayOptions();
        _options.Validate();
        _user = user;
        _assistant = assistant;
        _rewardModel = rewardModel;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Plays one dialogue per query and appends them to <paramref name="outputPath"/> (resuming what an earlier run
    /// wrote there).
    /// </summary>
    /// <param name="openingQueries">The first user turn of each dialogue; the dialogue's id is its index here.</param>
    /// <param name="outputPath">The JSONL output.</param>
    /// <param name="progress">Receives the count of written dialogues after each chunk; null for none.</param>
    /// <param name="cancellationToken">Checked before each chunk and passed to the generators and the reward model.</param>
    /// <returns>Dialogues in the output when the run ends.</returns>
    /// <exception cref="ArgumentException">No queries, or an empty query.</exception>
    public async Task<int> RunAsync(
        IReadOnlyList<string> openingQueries,
        string outputPath,
        IProgress<SelfPlayProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openingQueries);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        if (openingQueries.Count == 0)
        {
            throw new ArgumentException("No opening queries: there is nothing to play.", nameof(openingQueries));
        }

        for (int i = 0; i < openingQueries.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(openingQueries[i]))
            {
                throw new ArgumentException($"Opening query {i} is empty.", nameof(openingQueries));
            }
        }

        var resume = await JsonlResume.RepairAsync<SelfPlayRecord>(outputPath, r => r.Id, null, cancellationToken).ConfigureAwait(false);
        if (resume.CompleteRecords > 0 || resume.WasRepaired)
        {
            _logger.LogInformation("Resuming self-play in {Path}: {Complete} dialogues complete (repaired line: {Line})",
                outputPath, resume.CompleteRecords, resume.RepairedLineNumber);
        }

        var done = new HashSet<string>(resume.CompletedIds, StringComparer.Ordinal);
        await using var writer = JsonlWriter.Open(outputPath);
        int written = done.Count;
        for (int start = 0; start < openingQueries.Count; start += _options.ChunkSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(_options.ChunkSize, openingQueries.Count - start);
            var ids = Enumerable.Range(start, count).Select(i => Id(i)).ToArray();
            if (ids.All(done.Contains))
            {
                continue;
            }

            var queries = Enumerable.Range(start, count).Select(i => openingQueries[i].Trim()).ToArray();
            var records = await PlayChunkAsync(start / _options.ChunkSize, ids, queries, cancellationToken).ConfigureAwait(false);
            var missing = records.Where(r => !done.Contains(r.Id)).ToList();
            await writer.WriteManyAsync(missing, cancellationToken).ConfigureAwait(false);
            foreach (var r in missing)
            {
                done.Add(r.Id);
            }

            written += missing.Count;
            _logger.LogInformation("Self-play chunk {Chunk}: {Written} dialogues written ({Total}/{All})",
                start / _options.ChunkSize, missing.Count, written, openingQueries.Count);
            progress?.Report(new SelfPlayProgress(written, openingQueries.Count));
        }

        return written;
    }

    /// <summary>
    /// Plays the dialogues of one chunk, all turns, and returns them (nothing is written). Exposed for callers that
    /// want the dialogues in memory; <see cref="RunAsync"/> is the resumable file-based run.
    /// </summary>
    /// <param name="chunkIndex">The chunk's index (decides its seeds).</param>
    /// <param name="ids">The dialogues' ids.</param>
    /// <param name="queries">Their opening queries.</param>
    /// <param name="cancellationToken">Passed to the generators and the reward model.</param>
    /// <returns>
    /// One record per query, in order. A dialogue whose first reply was empty is kept with no assistant turn (so a
    /// resumed run knows it is done); <see cref="SelfPlayRecord.ToDemonstrations"/> leaves it out.
    /// </returns>
    public async Task<IReadOnlyList<SelfPlayRecord>> PlayChunkAsync(
        int chunkIndex,
        IReadOnlyList<string> ids,
        IReadOnlyList<string> queries,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(queries);
        var dialogues = queries.Select(q => new List<ChatMessage> { ChatMessage.User(q) }).ToArray();
        var turns = queries.Select(_ => new List<SelfPlayTurn>()).ToArray();
        var active = Enumerable.Range(0, queries.Count).ToList();
        for (int turn = 0; turn < _options.MaxTurns && active.Count > 0; turn++)
        {
            // Assistant: N candidates per active dialogue, the reward model keeps the best.
            var contexts = active.Select(d => AlmostTranscript.Format(dialogues[d], addGenerationPrompt: true)).ToArray();
            var samples = await _assistant.Generator.GenerateAsync(
                contexts.Select(c => _assistant.Preamble + c).ToArray(),
                _assistant.Sampling with
                {
                    SamplesPerPrompt = _options.CandidatesPerTurn,
                    StopStrings = AlmostTranscript.StopStrings,
                    Seed = Determinism.DeriveSeed(_options.Seed, $"rmsp-chunk{chunkIndex}-turn{turn}-assistant"),
                },
                null,
                cancellationToken).ConfigureAwait(false);
            var replies = samples.Select(s => s.Select(r => AlmostTranscript.CutReply(r.Text)).ToArray()).ToArray();
            var inputs = new List<RewardModelInput>();
            for (int a = 0; a < active.Count; a++)
            {
                inputs.AddRange(replies[a].Select(r => new RewardModelInput(contexts[a], " " + r)));
            }

            var scores = await _rewardModel.ScoreAsync(inputs, cancellationToken).ConfigureAwait(false);
            if (scores.Count != inputs.Count)
            {
                throw new InvalidOperationException($"The reward model returned {scores.Count} scores for {inputs.Count} candidates.");
            }

            var stillActive = new List<int>();
            int offset = 0;
            for (int a = 0; a < active.Count; a++)
            {
                int d = active[a], n = replies[a].Length;
                var candidateScores = scores.Skip(offset).Take(n).ToArray();
                offset += n;
                var consensus = _options.ConsensusWeight > 0 ? CandidateConsensus.Of(replies[a]) : null;
                int best = 0;
                for (int c = 1; c < n; c++)
                {
                    if (Selection(candidateScores, consensus, c) > Selection(candidateScores, consensus, best))
                    {
                        best = c;
                    }
                }

                if (replies[a][best].Length < _options.MinReplyLength)
                {
                    continue; // An empty best reply ends the dialogue before this turn.
                }

                dialogues[d].Add(ChatMessage.Assistant(replies[a][best]));
                turns[d].Add(new SelfPlayTurn(best, candidateScores[best], candidateScores, replies[a], consensus));
                stillActive.Add(d);
            }

            active = stillActive;
            if (turn + 1 >= _options.MaxTurns || active.Count == 0)
            {
                break;
            }

            // User simulator: the next user turn of each dialogue that goes on.
            var userSamples = await _user.Generator.GenerateAsync(
                active.Select(d => _user.Preamble + AlmostTranscript.Format(dialogues[d], addGenerationPrompt: false) + AlmostTranscript.HumanPrefix).ToArray(),
                _user.Sampling with
                {
                    SamplesPerPrompt = 1,
                    StopStrings = [AlmostTranscript.AssistantPrefix, AlmostTranscript.HumanPrefix],
                    Seed = Determinism.DeriveSeed(_options.Seed, $"rmsp-chunk{chunkIndex}-turn{turn}-user"),
                },
                null,
                cancellationToken).ConfigureAwait(false);
            var continuing = new List<int>();
            for (int a = 0; a < active.Count; a++)
            {
                var text = userSamples[a][0].Text;
                int cut = text.IndexOf(AlmostTranscript.AssistantPrefix, StringComparison.Ordinal);
                var query = (cut >= 0 ? text[..cut] : text).Trim();
                if (query.Length == 0 || query.Contains(AlmostTranscript.HumanPrefix.Trim(), StringComparison.Ordinal))
                {
                    continue;
                }

                dialogues[active[a]].Add(ChatMessage.User(query));
                continuing.Add(active[a]);
            }

            active = continuing;
        }

        var records = new List<SelfPlayRecord>(queries.Count);
        for (int d = 0; d < queries.Count; d++)
        {
            // A dialogue ends on an assistant turn: drop a trailing user turn left when the next reply failed.
            var messages = dialogues[d];
            if (turns[d].Count > 0 && messages[^1].Role != ChatRoles.Assistant)
            {
                messages = messages.Take(messages.Count - 1).ToList();
            }

            records.Add(new SelfPlayRecord { Id = ids[d], Messages = messages, Turns = turns[d] });
        }

        return records;
    }

    private static string Id(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What the selection maximises: the reward, plus the weighted consensus when it is on.</summary>
    private double Selection(double[] rewards, double[]? consensus, int candidate) =>
        consensus is null ? rewards[candidate] : rewards[candidate] + _options.ConsensusWeight * consensus[candidate];
}
