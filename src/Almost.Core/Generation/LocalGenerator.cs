using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Almost.Devices;
using Almost.Models.Llama;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Generation;

/// <summary>
/// Generates with a local <see cref="LlamaForCausalLM"/>: batched decoding with left padding and a preallocated KV cache,
/// per-row finish at EOS or a stop string, early exit once every row is done, greedy at temperature 0, and sampling
/// from an explicit <see cref="Generator"/> so a fixed seed and batch give the same samples.
/// </summary>
/// <remarks>
/// Prompts are sorted by token length and cut into batches of <see cref="LocalGeneratorOptions.MaxBatchSize"/> rows
/// (each sample of a prompt is a row). Batch <c>b</c> samples from a generator seeded with
/// <c>Determinism.DeriveSeed(options.Seed, "batch{b}")</c>; the same prompts, options and batch size give the same
/// output. The host sees the new tokens only every <see cref="LocalGeneratorOptions.StopCheckInterval"/> steps, or
/// every step when streaming (<see cref="GenerateStreamingAsync(IReadOnlyList{string}, GenerationOptions, IProgress{GenerationProgress}?, CancellationToken)"/>);
/// either way a row's tokens and text are the same.
/// </remarks>
public sealed class LocalGenerator : ITextGenerator
{
    private readonly LlamaForCausalLM _model;
    private readonly AlmostTokenizer _tokenizer;
    private readonly LocalGeneratorOptions _options;
    private readonly ILogger _logger;
    private readonly long[] _eosIds;
    private readonly long _padId;

    /// <summary>Creates a generator over <paramref name="model"/> and <paramref name="tokenizer"/>.</summary>
    public LocalGenerator(
        LlamaForCausalLM model,
        AlmostTokenizer tokenizer,
        LocalGeneratorOptions? options = null,
        ILogger<LocalGenerator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _model = model;
        _tokenizer = tokenizer;
        _options = options ?? new LocalGeneratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxBatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.StopCheckInterval, 1, nameof(options));
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var eos = new SortedSet<long>(model.Config.EosTokenIds.Select(i => (long)i));
        if (tokenizer.EosTokenId is { } tokEos)
        {
            eos.Add(tokEos);
        }

        _eosIds = [.. eos];
        _padId = model.Config.ResolvePadTokenId(tokenizer.PadTokenId);
    }

    /// <summary>The model being sampled.</summary>
    public LlamaForCausalLM Model => _model;

    /// <summary>The tokenizer used to encode prompts and decode completions.</summary>
    public AlmostTokenizer Tokenizer => _tokenizer;

    /// <inheritdoc />
    public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        var encoded = Encode(prompts);
        return Task.Run(() => Generate(encoded, options, progress, cancellationToken), cancellationToken);
    }

    private List<int[]> Encode(IReadOnlyList<string> prompts) =>
        [.. prompts.Select(p => _tokenizer.Encode(p, _options.AddBos && _tokenizer.BosTokenId is not null))];

    /// <summary>
    /// Generates from prompts given as token ids (already including BOS if wanted). Synchronous; see
    /// <see cref="GenerateAsync"/> for the text form. Returns one list per prompt with
    /// <see cref="GenerationOptions.SamplesPerPrompt"/> results.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<GenerationResult>> Generate(
        IReadOnlyList<int[]> promptIds,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(options);
        Validate(promptIds, options);
        return Run(promptIds, options, progress, null, cancellationToken);
    }

    /// <summary>
    /// Streams the completions of every prompt as they are decoded: after each decoding step, one
    /// <see cref="GenerationDelta"/> per sample that sampled a token or finished. Concatenating a sample's deltas gives
    /// exactly what <see cref="GenerateAsync"/> returns for the same prompts and options (same seed, same tokens).
    /// </summary>
    /// <remarks>
    /// Decoding runs on a worker thread and checks every step on the host (the step's tokens are copied once), instead
    /// of every <see cref="LocalGeneratorOptions.StopCheckInterval"/> steps. Batches run one after another, so a
    /// sample of a later batch starts once the earlier batches are done. Cancelling <paramref name="cancellationToken"/>,
    /// or leaving the <c>await foreach</c> early, stops decoding at the next step; the enumeration then ends only after
    /// the worker has stopped using the model.
    /// </remarks>
    /// <param name="prompts">Raw prompt texts, encoded as <see cref="GenerateAsync"/> encodes them.</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="progress">Receives the finished prompts after each batch, as <see cref="GenerateAsync"/> does; may be null.</param>
    /// <param name="cancellationToken">Stops decoding at the next step.</param>
    /// <returns>The deltas, in decoding order; each sample's last one carries its <see cref="FinishReason"/>.</returns>
    /// <exception cref="ArgumentException">A prompt is empty or too long for the context window (thrown by this call, before any decoding).</exception>
    public IAsyncEnumerable<GenerationDelta> GenerateStreamingAsync(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        return GenerateStreamingAsync(Encode(prompts), options, progress, cancellationToken);
    }

    /// <summary>
    /// Streams the completions of prompts given as token ids (already including BOS if wanted); see
    /// <see cref="GenerateStreamingAsync(IReadOnlyList{string}, GenerationOptions, IProgress{GenerationProgress}?, CancellationToken)"/>.
    /// </summary>
    /// <param name="promptIds">The prompts' token ids.</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="progress">Receives the finished prompts after each batch; may be null.</param>
    /// <param name="cancellationToken">Stops decoding at the next step.</param>
    /// <returns>The deltas, in decoding order; each sample's last one carries its <see cref="FinishReason"/>.</returns>
    /// <exception cref="ArgumentException">A prompt is empty or too long for the context window (thrown by this call, before any decoding).</exception>
    public IAsyncEnumerable<GenerationDelta> GenerateStreamingAsync(
        IReadOnlyList<int[]> promptIds,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(options);
        Validate(promptIds, options);
        return Stream(promptIds, options, progress, cancellationToken);
    }

    private async IAsyncEnumerable<GenerationDelta> Stream(
        IReadOnlyList<int[]> promptIds,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // TorchSharp dispose scopes belong to a thread, so decoding stays on one worker; deltas cross over by a channel.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<GenerationDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var worker = Task.Run(() =>
        {
            try
            {
                Run(promptIds, options, progress, delta => channel.Writer.TryWrite(delta), stop.Token);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        });
        try
        {
            await foreach (var delta in channel.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();   // not even deltas already decoded once cancelled
                yield return delta;
            }
        }
        finally
        {
            // Leaving early (break, dispose, an exception) stops the worker; wait for it so the model is free again.
            await stop.CancelAsync().ConfigureAwait(false);
            await worker.ConfigureAwait(false);
        }
    }

    private GenerationResult[][] Run(
        IReadOnlyList<int[]> promptIds,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress,
        Action<GenerationDelta>? onDelta,
        CancellationToken cancellationToken)
    {
        var samples = options.SamplesPerPrompt;
        var results = new GenerationResult[promptIds.Count][];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = new GenerationResult[samples];
        }

        // Rows are (prompt, sample) pairs; sorting by prompt length keeps padding small inside each batch.
        var rows = Enumerable.Range(0, promptIds.Count)
            .SelectMany(p => Enumerable.Range(0, samples).Select(s => (Prompt: p, Sample: s)))
            .OrderBy(r => promptIds[r.Prompt].Length)
            .ToList();
        var remaining = Enumerable.Repeat(samples, promptIds.Count).ToArray();
        var completedPrompts = 0;
        long generatedTokens = 0;
        var batchCount = (rows.Count + _options.MaxBatchSize - 1) / _options.MaxBatchSize;
        for (var b = 0; b < batchCount; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = rows.Skip(b * _options.MaxBatchSize).Take(_options.MaxBatchSize).ToList();
            var watch = Stopwatch.StartNew();
            var seed = Determinism.DeriveSeed(options.Seed, $"batch{b}");
            var stream = onDelta is null ? null : new StreamingBatch(_tokenizer, batch, options.StopStrings, onDelta);
            var decoded = DecodeBatch(batch.Select(r => promptIds[r.Prompt]).ToList(), options, seed, stream, cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                results[batch[i].Prompt][batch[i].Sample] = decoded[i];
                generatedTokens += decoded[i].TokenIds.Count;
                if (--remaining[batch[i].Prompt] == 0)
                {
                    completedPrompts++;
                }
            }

            _logger.LogDebug(
                "Batch {Batch}/{Batches}: {Rows} rows, {NewTokens} new tokens in {Milliseconds} ms",
                b + 1, batchCount, batch.Count, decoded.Sum(d => d.TokenIds.Count), watch.ElapsedMilliseconds);
            progress?.Report(new GenerationProgress(completedPrompts, promptIds.Count, generatedTokens));
        }

        return results;
    }

    private void Validate(IReadOnlyList<int[]> promptIds, GenerationOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxNewTokens, 1, nameof(options.MaxNewTokens));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SamplesPerPrompt, 1, nameof(options.SamplesPerPrompt));
        for (var i = 0; i < promptIds.Count; i++)
        {
            if (promptIds[i].Length == 0)
            {
                throw new ArgumentException($"Prompt {i} has no tokens; give it text or enable AddBos with a tokenizer that has a BOS token.", nameof(promptIds));
            }

            if (promptIds[i].Length + options.MaxNewTokens > _model.Config.MaxPositionEmbeddings)
            {
                throw new ArgumentException(
                    $"Prompt {i} has {promptIds[i].Length} tokens; with max_new_tokens {options.MaxNewTokens} that exceeds the " +
                    $"model's max_position_embeddings ({_model.Config.MaxPositionEmbeddings}).", nameof(promptIds));
            }
        }
    }

    /// <summary>
    /// Decodes one batch of prompts (token ids) to completion; one result per prompt row. With a
    /// <paramref name="stream"/>, the host checks every step and hands the rows to it after each check.
    /// </summary>
    private GenerationResult[] DecodeBatch(List<int[]> prompts, GenerationOptions options, long seed, StreamingBatch? stream, CancellationToken ct)
    {
        var device = _model.Device;
        int rows = prompts.Count, promptLength = prompts.Max(p => p.Length), maxNew = options.MaxNewTokens;
        using var generator = Determinism.CreateGenerator(seed, device, "sampling");
        using var noGrad = no_grad();
        using var batchScope = NewDisposeScope();

        // A prefix every row shares is prefilled once (see LocalGeneratorOptions.ShareCommonPrefix); at least one
        // token of each prompt stays in the rows' own prefill, which yields the logits of the first new token.
        var shared = SharedPrefixLength(prompts, _options);

        // Left padding after the shared prefix: every prompt ends at column promptLength - 1, so the next token is
        // column promptLength for all. Columns [0, shared) are the shared prefix (no padding there).
        var ids = new long[rows, promptLength - shared];
        var mask = zeros(rows, promptLength + maxNew, dtype: ScalarType.Int64);
        mask.narrow(1, 0, shared).fill_(1);
        for (var r = 0; r < rows; r++)
        {
            var offset = promptLength - prompts[r].Length;
            for (var c = shared; c < promptLength; c++)
            {
                ids[r, c - shared] = c < shared + offset ? _padId : prompts[r][c - offset];
            }

            mask[r].narrow(0, shared + offset, prompts[r].Length - shared).fill_(1);
        }

        mask = mask.to(device);
        var input = tensor(ids, device: device);
        var realLength = mask.sum(1, type: ScalarType.Int64);                          // (B)
        var eos = tensor(_eosIds, device: device);
        var pad = tensor(_padId, device: device);
        using var cache = _model.CreateCache(rows, promptLength + maxNew, _options.FusedDecoding);
        if (shared > 0)
        {
            using var prefix = _model.CreateCache(1, shared, fusedWeights: false);
            var prefixIds = tensor(Array.ConvertAll(prompts[0][..shared], id => (long)id), device: device).unsqueeze(0);
            _model.Model.forward(prefixIds, cache: prefix).Dispose();
            cache.FillPrefixFrom(prefix);
        }
        var outTokens = full(rows, maxNew, _padId, dtype: ScalarType.Int64, device: device);
        var outLogProbs = zeros(rows, maxNew, dtype: ScalarType.Float32, device: device);
        var finished = zeros(rows, dtype: ScalarType.Bool, device: device);

        var state = new DecodingRow[rows];
        for (var r = 0; r < rows; r++)
        {
            state[r] = new DecodingRow();
        }

        var checkInterval = stream is null ? _options.StopCheckInterval : 1;

        // Without left padding (equal prompt lengths, e.g. batch 1) the mask and explicit positions are redundant:
        // skipping them lets attention run unmasked and saves building a mask every step.
        var padded = prompts.Any(p => p.Length != promptLength);
        var logits = LastLogits(input, padded ? mask.narrow(1, 0, promptLength) : null, null, cache);
        var checkedSteps = 0;

        // The device batch holds the rows still decoding (logits, mask, cache, ...): every prompt row, in order, until
        // DecodingBatchRows.Compact drops finished ones; host-side state and the outputs stay indexed by prompt row.
        using var active = new DecodingBatchRows(rows, device);
        for (var step = 0; step < maxNew; step++)
        {
            ct.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var next = LogitsSampler.Sample(logits, options.Temperature, options.TopK, options.TopP, generator);
            if (options.ReturnLogProbs)
            {
                active.Write(outLogProbs.narrow(1, step, 1), LlamaForCausalLM.GatherLogProbs(logits, next).unsqueeze(1));
            }

            next = where(finished, pad, next);
            active.Write(outTokens.narrow(1, step, 1), next.unsqueeze(1));
            finished.logical_or_(isin(next, eos));
            var lastStep = step == maxNew - 1;
            if ((step + 1) % checkInterval == 0 || lastStep)
            {
                var allDone = CheckRows(state, outTokens, checkedSteps, step + 1, options, finished, active);
                if (stream is not null)
                {
                    var width = step + 1 - checkedSteps;
                    var stepLogProbs = options.ReturnLogProbs ? outLogProbs.narrow(1, checkedSteps, width).cpu().data<float>().ToArray() : null;
                    stream.AfterSteps(state, stepLogProbs, checkedSteps, width);
                }

                checkedSteps = step + 1;
                if (allDone)
                {
                    break;
                }
            }

            if (lastStep)
            {
                break;
            }

            // Drop finished rows at the interval's steps only (streaming checks every step but compacts at the same
            // steps), so both modes draw the same random numbers for the same rows.
            if (_options.CompactFinishedRows && (step + 1) % _options.StopCheckInterval == 0
                && active.Compact(state) is { } kept)
            {
                next = next.index_select(0, kept);
                mask = mask.index_select(0, kept).MoveToOuterDisposeScope();
                realLength = realLength.index_select(0, kept).MoveToOuterDisposeScope();
                finished = finished.index_select(0, kept).MoveToOuterDisposeScope();
                cache.KeepRows(kept);
            }

            logits.Dispose();
            if (padded)
            {
                var column = promptLength + step;
                mask.narrow(1, column, 1).fill_(1);
                var positions = (realLength + step).unsqueeze(1);
                logits = LastLogits(next.unsqueeze(1), mask.narrow(1, 0, column + 1), positions, cache);
            }
            else
            {
                logits = LastLogits(next.unsqueeze(1), null, null, cache);
            }
        }

        logits.Dispose();
        var logProbRows = options.ReturnLogProbs ? outLogProbs.cpu().data<float>().ToArray() : null;
        var results = new GenerationResult[rows];
        for (var r = 0; r < rows; r++)
        {
            var s = state[r];
            var n = s.Tokens.Count;
            var lp = logProbRows is null ? null : (IReadOnlyList<float>)logProbRows.AsSpan(r * maxNew, n).ToArray();
            results[r] = new GenerationResult(s.Text ?? _tokenizer.Decode(s.Tokens), s.Tokens.ToArray(), lp, s.Reason ?? FinishReason.Length);
        }

        return results;
    }

    /// <summary>
    /// The number of leading tokens every prompt of the batch shares, capped one short of the shortest prompt; 0 when
    /// sharing is off, the batch has one row, or fewer than <see cref="LocalGeneratorOptions.MinSharedPrefixTokens"/>
    /// tokens are shared.
    /// </summary>
    internal static int SharedPrefixLength(IReadOnlyList<int[]> prompts, LocalGeneratorOptions options)
    {
        if (!options.ShareCommonPrefix || prompts.Count < 2)
        {
            return 0;
        }

        var first = prompts[0];
        var length = prompts.Min(p => p.Length) - 1;
        foreach (var prompt in prompts.Skip(1))
        {
            length = Math.Min(length, first.AsSpan(0, length).CommonPrefixLength(prompt.AsSpan(0, length)));
        }

        return length >= Math.Max(1, options.MinSharedPrefixTokens) ? length : 0;
    }

    /// <summary>Runs the model and returns fp32 logits (B, V) of the last position, outside any dispose scope.</summary>
    private Tensor LastLogits(Tensor input, Tensor? mask, Tensor? positions, KvCache cache)
    {
        using var output = _model.forward(input, mask, positions, cache, lastPositionOnly: true);
        return output.Logits.squeeze(1).DetachFromDisposeScope();
    }

    /// <summary>
    /// Copies the tokens of steps [from, to) to the host, finishes rows that reached EOS or a stop string, and marks
    /// stop-string rows finished on the device (at their place in the device batch). Returns true when every row is done.
    /// </summary>
    private bool CheckRows(DecodingRow[] state, Tensor outTokens, int from, int to, GenerationOptions options, Tensor finished, DecodingBatchRows active)
    {
        var width = to - from;
        var fresh = outTokens.narrow(1, from, width).cpu().data<long>().ToArray();
        var stopFinished = new List<long>();
        for (var r = 0; r < state.Length; r++)
        {
            var s = state[r];
            if (s.Reason is not null)
            {
                continue;
            }

            for (var i = 0; i < width && s.Reason is null; i++)
            {
                var token = fresh[r * width + i];
                if (Array.IndexOf(_eosIds, token) >= 0)
                {
                    s.Reason = FinishReason.Eos;
                }
                else
                {
                    s.Tokens.Add((int)token);
                }
            }

            if (options.StopStrings.Count > 0 && TryStop(s, options.StopStrings))
            {
                stopFinished.Add(active.PositionOf(r));
            }

            if (s.Reason is null && to == options.MaxNewTokens)
            {
                s.Reason = FinishReason.Length;
            }
        }

        if (stopFinished.Count > 0)
        {
            finished.index_fill_(0, tensor(stopFinished.ToArray(), device: finished.device), true);
        }

        return state.All(s => s.Reason is not null);
    }

    /// <summary>
    /// When the row's text contains a stop string, cuts the text before its first occurrence, keeps the tokens up to
    /// the one that completed it, and finishes the row with <see cref="FinishReason.Stop"/>.
    /// </summary>
    private bool TryStop(DecodingRow s, IReadOnlyList<string> stops)
    {
        var text = _tokenizer.Decode(s.Tokens);
        var cut = FirstStop(text, stops);
        if (cut < 0)
        {
            return false;
        }

        // Shortest token prefix whose text already holds the stop string.
        var keep = s.Tokens.Count;
        while (keep > 1 && FirstStop(_tokenizer.Decode(s.Tokens.Take(keep - 1)), stops) >= 0)
        {
            keep--;
        }

        s.Tokens.RemoveRange(keep, s.Tokens.Count - keep);
        s.Text = text[..cut];
        s.Reason = FinishReason.Stop;
        return true;
    }

    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        var first = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0)
            {
                continue;
            }

            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        return first;
    }
}
