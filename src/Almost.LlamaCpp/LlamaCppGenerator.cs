using Almost.Generation;
using LLama;
using LLama.Common;
using LLama.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.LlamaCpp;

/// <summary>
/// An <see cref="ITextGenerator"/> on llama.cpp (through LLamaSharp): loads a GGUF file, for example one written by
/// <c>GgufExporter</c>, and decodes many prompts at once, one llama.cpp sequence per (prompt, sample) row, with
/// temperature / top-k / top-p sampling from a seed, stop strings, per-token log-probabilities, progress and
/// cancellation. The application references a native backend package (<c>LLamaSharp.Backend.Cpu</c>, or a CUDA one).
/// </summary>
/// <remarks>
/// Instances are not thread-safe: one call at a time (the KV cache is shared by the rows of a call). Samples depend
/// on the seed and the row (prompt index × samples + sample), not on the batch size.
/// </remarks>
public sealed class LlamaCppGenerator : ITextGenerator, IDisposable
{
    private readonly LlamaCppGeneratorOptions _options;
    private readonly ILogger _logger;
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly bool _addBos;

    /// <summary>Loads <paramref name="ggufPath"/>.</summary>
    /// <param name="ggufPath">The GGUF model file.</param>
    /// <param name="options">Engine settings; null for the defaults.</param>
    /// <param name="logger">Logs loading and batch timings; null for none.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A batch size or sequence length below 1.</exception>
    public LlamaCppGenerator(string ggufPath, LlamaCppGeneratorOptions? options = null, ILogger<LlamaCppGenerator>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(ggufPath);
        options ??= new LlamaCppGeneratorOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options.MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSequenceLength, 1, nameof(options.MaxSequenceLength));
        if (!File.Exists(ggufPath))
        {
            throw new FileNotFoundException($"No GGUF model at '{ggufPath}'.", ggufPath);
        }

        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        LlamaCppNative.QuietLogs();
        uint total = (uint)(options.MaxBatchSize * options.MaxSequenceLength);
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = total,
            BatchSize = total,
            SeqMax = (uint)options.MaxBatchSize,
            GpuLayerCount = options.GpuLayerCount,
            Threads = options.Threads,
            BatchThreads = options.Threads,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        _addBos = options.AddBos ?? _weights.Vocab.ShouldAddBOS;
        _logger.LogInformation("Loaded {Path}: {Parameters} parameters, {Rows} rows × {Length} tokens", ggufPath, _weights.ParameterCount, options.MaxBatchSize, options.MaxSequenceLength);
    }

    /// <summary>The model's vocabulary size.</summary>
    public int VocabSize => _weights.Vocab.Count;

    /// <summary>llama.cpp's ids for <paramref name="text"/> (special tokens recognised), with BOS when configured.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _context.Tokenize(text, _addBos, special: true).Select(t => (int)t).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="promptIds"/> through the model from an empty cache and returns the logits (fp32, vocabulary
    /// long) that follow its last token.
    /// </summary>
    /// <param name="promptIds">Token ids, 1 to <see cref="LlamaCppGeneratorOptions.MaxSequenceLength"/> of them.</param>
    /// <returns>The next-token logits.</returns>
    public float[] LastTokenLogits(IReadOnlyList<int> promptIds)
    {
        ArgumentNullException.ThrowIfNull(promptIds);
        if (promptIds.Count == 0 || promptIds.Count > _options.MaxSequenceLength)
        {
            throw new ArgumentException($"Expected 1 to {_options.MaxSequenceLength} ids, got {promptIds.Count}.", nameof(promptIds));
        }

        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int t = 0; t < promptIds.Count; t++)
        {
            batch.Add(promptIds[t], t, LLamaSeqId.Zero, logits: t == promptIds.Count - 1);
        }

        Decode(batch);
        return _context.NativeHandle.GetLogitsIth(promptIds.Count - 1).ToArray();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(prompts, options, progress, cancellationToken), cancellationToken);

    /// <summary>The synchronous form of <see cref="GenerateAsync"/>.</summary>
    /// <param name="prompts">Raw prompt texts.</param>
    /// <param name="options">Sampling settings.</param>
    /// <param name="progress">Receives progress after each batch; may be null.</param>
    /// <param name="cancellationToken">Checked between decoding steps.</param>
    /// <returns>One list per prompt, in prompt order, of <see cref="GenerationOptions.SamplesPerPrompt"/> results.</returns>
    /// <exception cref="ArgumentException">A prompt plus <see cref="GenerationOptions.MaxNewTokens"/> exceeds <see cref="LlamaCppGeneratorOptions.MaxSequenceLength"/>.</exception>
    public IReadOnlyList<IReadOnlyList<GenerationResult>> Generate(
        IReadOnlyList<string> prompts,
        GenerationOptions options,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SamplesPerPrompt, 1, nameof(options.SamplesPerPrompt));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxNewTokens, nameof(options.MaxNewTokens));
        var promptIds = prompts.Select(Tokenize).ToArray();
        for (int p = 0; p < promptIds.Length; p++)
        {
            if (promptIds[p].Length == 0 || promptIds[p].Length + options.MaxNewTokens > _options.MaxSequenceLength)
            {
                throw new ArgumentException(
                    $"prompts[{p}]: {promptIds[p].Length} tokens + MaxNewTokens {options.MaxNewTokens} must be between 1 and MaxSequenceLength {_options.MaxSequenceLength}.",
                    nameof(prompts));
            }
        }

        int samples = options.SamplesPerPrompt;
        var results = new GenerationResult[prompts.Count * samples];
        int completedRows = 0;
        long generated = 0;
        for (int start = 0; start < results.Length; start += _options.MaxBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(_options.MaxBatchSize, results.Length - start);
            generated += DecodeRows(promptIds, start, count, options, results, cancellationToken);
            completedRows += count;
            progress?.Report(new GenerationProgress(completedRows / samples, prompts.Count, generated));
        }

        return Enumerable.Range(0, prompts.Count).Select(p => (IReadOnlyList<GenerationResult>)results.AsSpan(p * samples, samples).ToArray()).ToArray();
    }

    private long DecodeRows(int[][] promptIds, int start, int count, GenerationOptions options, GenerationResult[] results, CancellationToken cancellationToken)
    {
        int samples = options.SamplesPerPrompt;
        var rows = Enumerable.Range(start, count).Select(r => new Row(r, promptIds[r / samples], options.Seed, new StreamingTokenDecoder(_context))).ToArray();
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < rows.Length; i++)
        {
            int[] prompt = rows[i].Prompt;
            for (int t = 0; t < prompt.Length; t++)
            {
                batch.Add(prompt[t], t, (LLamaSeqId)i, logits: t == prompt.Length - 1);
            }

            rows[i].LogitsIndex = batch.TokenCount - 1;
        }

        long generated = 0;
        var vocab = _weights.Vocab;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Decode(batch);
            var active = rows.Where(r => r.Reason is null).ToArray();
            foreach (Row row in active)
            {
                ReadOnlySpan<float> logits = _context.NativeHandle.GetLogitsIth(row.LogitsIndex);
                int token = TokenSampler.Sample(logits, options.Temperature, options.TopK, options.TopP, row.Random);
                if (((LLamaToken)token).IsEndOfGeneration(vocab))
                {
                    row.Reason = FinishReason.Eos;
                    continue;
                }

                row.Tokens.Add(token);
                if (options.ReturnLogProbs)
                {
                    row.LogProbs.Add(TokenSampler.LogProb(logits, token));
                }

                generated++;
                row.Decoder.Add(token);
                string text = row.Decoded.Append(row.Decoder.Read()).ToString();
                int stop = options.StopStrings.Count == 0 ? -1 : options.StopStrings
                    .Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
                if (stop >= 0)
                {
                    (row.Text, row.Reason) = (text[..stop], FinishReason.Stop);
                }
                else if (row.Tokens.Count >= options.MaxNewTokens)
                {
                    (row.Text, row.Reason) = (text, FinishReason.Length);
                }
            }

            batch.Clear();
            for (int i = 0; i < rows.Length; i++)
            {
                Row row = rows[i];
                if (row.Reason is null)
                {
                    row.LogitsIndex = batch.TokenCount;
                    batch.Add(row.Tokens[^1], row.Prompt.Length + row.Tokens.Count - 1, (LLamaSeqId)i, logits: true);
                }
            }

            if (batch.TokenCount == 0 || options.MaxNewTokens == 0)
            {
                break;
            }
        }

        foreach (Row row in rows)
        {
            string text = row.Text ?? row.Decoded.ToString();
            results[row.Index] = new GenerationResult(text, row.Tokens, options.ReturnLogProbs ? row.LogProbs : null, row.Reason ?? FinishReason.Length);
        }

        return generated;
    }

    private void Decode(LLamaBatch batch)
    {
        DecodeResult result = _context.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp could not decode a batch of {batch.TokenCount} tokens: {result}.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }

    /// <summary>One (prompt, sample) being decoded; its random stream depends only on the seed and its row index.</summary>
    private sealed class Row(int index, int[] prompt, long seed, StreamingTokenDecoder decoder)
    {
        public int Index { get; } = index;

        public int[] Prompt { get; } = prompt;

        // A fixed mix of seed and row (HashCode.Combine is randomised per process).
        public Random Random { get; } = new(unchecked((int)(seed * 1_000_003 + index * 7_919 + 17)));

        public StreamingTokenDecoder Decoder { get; } = decoder;

        public System.Text.StringBuilder Decoded { get; } = new();

        public List<int> Tokens { get; } = [];

        public List<float> LogProbs { get; } = [];

        public int LogitsIndex { get; set; }

        public string? Text { get; set; }

        public FinishReason? Reason { get; set; }
    }
}
