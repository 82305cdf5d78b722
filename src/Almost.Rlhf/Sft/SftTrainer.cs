using Almost.Data;
using Almost.Models.Llama;
using Almost.Rlhf.CausalLm;
using Almost.Rlhf.Training;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Almost.Rlhf.Sft;

/// <summary>
/// Supervised fine-tuning on demonstrations (ALMoST-SFT on self-play dialogues): TRL conversation or prompt/completion
/// records are rendered with the generation chat template and tokenized by <see cref="SftTokenizer"/> so the loss
/// covers the assistant's tokens (and the end of each assistant turn) only; training is the causal-LM objective on
/// the shared loop (schedules, accumulation, clipping, evaluation, checkpoints, exact resume).
/// </summary>
/// <remarks>
/// <para>
/// <b>Pretraining-data replay.</b> SFT on a few hundred dialogues erodes what the base model knew but the dialogues
/// never ask (the alignment tax). Passing <c>replayDocuments</c> (TRL <c>text</c> records, e.g. a sample of the base
/// model's pretraining corpus) mixes them into every epoch, InstructGPT's pretraining mix applied to SFT: each
/// document is encoded with every token trained and EOS after it, the documents are concatenated and cut into blocks as
/// long as the longest demonstration example (so a batch is no longer than without replay, and the replay's share of
/// the loss is its share of the trained tokens), the last short block kept. How much to replay is the caller's choice:
/// the number of documents passed.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var records = (await JsonlReader.ReadAllAsync&lt;ConversationRecord&gt;("out/selfplay.jsonl")).Records;
/// var trainer = new SftTrainer(policy, tokenizer, records,
///     new SftTrainingOptions { OutputDir = "out/sft", LearningRate = 1e-4, Epochs = 2 });
/// TrainingResult result = await trainer.TrainAsync(progress, cancellationToken);
/// </code>
/// </example>
public sealed class SftTrainer : ITrainer
{
    private readonly CausalLmTrainer _inner;

    /// <summary>Tokenizes the conversations and prepares the run.</summary>
    /// <param name="model">The policy, trained in place.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="conversations">Training dialogues.</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="evalConversations">Optional evaluation dialogues (assistant-token loss).</param>
    /// <param name="template">The chat template generation uses; null for the ALMoST transcript.</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <param name="replayDocuments">Pretraining documents replayed with the dialogues (see the remarks); null or empty for none.</param>
    /// <exception cref="ArgumentException">No usable example, a conversation without an assistant turn, an empty replay document, or an option out of range.</exception>
    public SftTrainer(
        LlamaForCausalLM model,
        AlmostTokenizer tokenizer,
        IEnumerable<ConversationRecord> conversations,
        SftTrainingOptions options,
        IEnumerable<ConversationRecord>? evalConversations = null,
        IChatTemplate? template = null,
        ILogger<SftTrainer>? logger = null,
        IEnumerable<TextRecord>? replayDocuments = null)
        : this(model, tokenizer, options, logger, template,
            sft => conversations.Select((c, i) => Wrap(() => sft.Encode(c), "training", i)),
            evalConversations is null ? null : sft => evalConversations.Select((c, i) => Wrap(() => sft.Encode(c), "evaluation", i)),
            Replay(replayDocuments))
    {
        ArgumentNullException.ThrowIfNull(conversations);
    }

    /// <summary>Tokenizes prompt/completion records (the prompt already rendered) and prepares the run.</summary>
    /// <param name="model">The policy, trained in place.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="demonstrations">Training records.</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="evalDemonstrations">Optional evaluation records.</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <param name="replayDocuments">Pretraining documents replayed with the demonstrations (see the remarks); null or empty for none.</param>
    /// <exception cref="ArgumentException">No usable example, an empty replay document, or an option out of range.</exception>
    public SftTrainer(
        LlamaForCausalLM model,
        AlmostTokenizer tokenizer,
        IEnumerable<PromptCompletionRecord> demonstrations,
        SftTrainingOptions options,
        IEnumerable<PromptCompletionRecord>? evalDemonstrations = null,
        ILogger<SftTrainer>? logger = null,
        IEnumerable<TextRecord>? replayDocuments = null)
        : this(model, tokenizer, options, logger, null,
            sft => demonstrations.Select((d, i) => Wrap(() => sft.Encode(d), "training", i)),
            evalDemonstrations is null ? null : sft => evalDemonstrations.Select((d, i) => Wrap(() => sft.Encode(d), "evaluation", i)),
            Replay(replayDocuments))
    {
        ArgumentNullException.ThrowIfNull(demonstrations);
    }

    private SftTrainer(
        LlamaForCausalLM model,
        AlmostTokenizer tokenizer,
        SftTrainingOptions options,
        ILogger<SftTrainer>? logger,
        IChatTemplate? template,
        Func<SftTokenizer, IEnumerable<CausalLmExample>> train,
        Func<SftTokenizer, IEnumerable<CausalLmExample>>? eval,
        Func<SftTokenizer, IEnumerable<CausalLmExample>> replay)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var log = (ILogger?)logger ?? NullLogger<SftTrainer>.Instance;
        var sft = new SftTokenizer(tokenizer, template);
        var maxLength = options.MaxLength ?? model.Config.MaxPositionEmbeddings;
        var examples = Prepare(train(sft), maxLength, options.Packing, "training", log);
        var replayed = ReplayBlocks(replay(sft), examples.Max(e => e.InputIds.Length), log);
        ReplayBlockCount = replayed.Count;
        TrainDataset = new CausalLmDataset(examples.Concat(replayed));
        var evalDataset = eval is null ? null : new CausalLmDataset(Prepare(eval(sft), maxLength, packing: false, "evaluation", log));
        Options = options;
        _inner = new CausalLmTrainer(model, TrainDataset, new CausalLmTrainingOptions
        {
            OutputDir = options.OutputDir, LearningRate = options.LearningRate, WeightDecay = options.WeightDecay,
            AdamBeta1 = options.AdamBeta1, AdamBeta2 = options.AdamBeta2, AdamEpsilon = options.AdamEpsilon,
            WarmupRatio = options.WarmupRatio, WarmupSteps = options.WarmupSteps, LrScheduler = options.LrScheduler,
            MinLearningRateRatio = options.MinLearningRateRatio, MaxGradNorm = options.MaxGradNorm,
            GradientAccumulationSteps = options.GradientAccumulationSteps, PerDeviceBatchSize = options.PerDeviceBatchSize,
            Epochs = options.Epochs, MaxSteps = options.MaxSteps, LoggingSteps = options.LoggingSteps,
            EvalSteps = options.EvalSteps, SaveSteps = options.SaveSteps, SaveTotalLimit = options.SaveTotalLimit,
            Seed = options.Seed, ResumeFromCheckpoint = options.ResumeFromCheckpoint,
            SaveCheckpointOnCancel = options.SaveCheckpointOnCancel,
            AllowChangedSettingsOnResume = options.AllowChangedSettingsOnResume, PadTokenId = options.PadTokenId,
            Lora = options.Lora,
        }, evalDataset, new ForwardingLogger(log));
    }

    /// <summary>The options of this run.</summary>
    public SftTrainingOptions Options { get; }

    /// <summary>The tokenized (and, with <see cref="SftTrainingOptions.Packing"/>, packed) training examples.</summary>
    public CausalLmDataset TrainDataset { get; }

    /// <summary>
    /// How many of <see cref="TrainDataset"/>'s examples (its last ones) are blocks of replayed pretraining documents;
    /// 0 without replay.
    /// </summary>
    public int ReplayBlockCount { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps => _inner.TotalSteps;

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        _inner.TrainAsync(progress, cancellationToken);

    /// <summary>
    /// Concatenates masked examples into consecutive blocks of <paramref name="blockSize"/> tokens (the last partial
    /// block is dropped), keeping each token's loss flag. Examples already end with EOS (<see cref="SftTokenizer"/>).
    /// </summary>
    /// <param name="examples">The examples, in order.</param>
    /// <param name="blockSize">Tokens per block (≥ 2).</param>
    /// <returns>The blocks.</returns>
    /// <exception cref="ArgumentException">Fewer tokens than one block.</exception>
    public static IReadOnlyList<CausalLmExample> Pack(IEnumerable<CausalLmExample> examples, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 2);
        var ids = new List<int>();
        var mask = new List<bool>();
        foreach (var example in examples)
        {
            ids.AddRange(example.InputIds);
            mask.AddRange(example.LossMask ?? Enumerable.Repeat(true, example.InputIds.Length));
        }

        if (ids.Count < blockSize)
        {
            throw new ArgumentException($"The examples hold {ids.Count} tokens, fewer than one block of {blockSize}.", nameof(examples));
        }

        return Blocks(ids, mask, blockSize, keepTail: false);
    }

    /// <summary>
    /// Cuts a token stream and its loss flags into consecutive blocks of <paramref name="blockSize"/> tokens; the tail
    /// shorter than a block is dropped, or kept as a last short block (of at least 2 tokens) with <paramref name="keepTail"/>.
    /// </summary>
    private static List<CausalLmExample> Blocks(List<int> ids, List<bool> mask, int blockSize, bool keepTail)
    {
        var blocks = new List<CausalLmExample>(ids.Count / blockSize + 1);
        for (int start = 0; keepTail ? start + 1 < ids.Count : start + blockSize <= ids.Count; start += blockSize)
        {
            int length = Math.Min(blockSize, ids.Count - start);
            blocks.Add(new CausalLmExample(ids.GetRange(start, length).ToArray(), mask.GetRange(start, length).ToArray()));
        }

        return blocks;
    }

    private static Func<SftTokenizer, IEnumerable<CausalLmExample>> Replay(IEnumerable<TextRecord>? documents) =>
        documents is null ? _ => [] : sft => documents.Select((d, i) => Wrap(() => sft.Encode(d), "replay", i));

    /// <summary>The replayed documents back to back, cut into blocks of <paramref name="blockSize"/> tokens (the last one shorter).</summary>
    private static List<CausalLmExample> ReplayBlocks(IEnumerable<CausalLmExample> documents, int blockSize, ILogger logger)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        int count = 0;
        foreach (var document in documents)
        {
            ids.AddRange(document.InputIds);
            mask.AddRange(document.LossMask!);   // every token trained (SftTokenizer.Encode(TextRecord))
            count++;
        }

        var blocks = Blocks(ids, mask, blockSize, keepTail: true);

        if (count > 0)
        {
            logger.LogInformation("SFT replay: {Documents} documents, {Tokens} tokens in {Blocks} blocks of up to {BlockSize} tokens",
                count, ids.Count, blocks.Count, blockSize);
        }

        return blocks;
    }

    private static List<CausalLmExample> Prepare(IEnumerable<CausalLmExample> examples, int maxLength, bool packing, string what, ILogger logger)
    {
        var kept = new List<CausalLmExample>();
        int truncated = 0, dropped = 0;
        foreach (var example in examples)
        {
            var e = example;
            if (e.InputIds.Length > maxLength && !packing)
            {
                truncated++;
                e = new CausalLmExample(e.InputIds[..maxLength], e.LossMask?[..maxLength]);
            }

            if (e.TargetCount == 0)
            {
                dropped++;
                continue;
            }

            kept.Add(e);
        }

        if (truncated + dropped > 0)
        {
            logger.LogInformation("SFT {What} data: {Truncated} examples truncated to {MaxLength} tokens, {Dropped} dropped with no trained token left",
                what, truncated, maxLength, dropped);
        }

        if (kept.Count == 0)
        {
            throw new ArgumentException($"The {what} dataset is empty: no example has an assistant token to train on.");
        }

        return packing ? [.. Pack(kept, maxLength)] : kept;
    }

    private static CausalLmExample Wrap(Func<CausalLmExample> encode, string what, int index)
    {
        try
        {
            return encode();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Record {index} of the {what} data: {e.Message}", e);
        }
    }

    /// <summary>Lets the inner causal-LM trainer log through the SFT trainer's logger.</summary>
    private sealed class ForwardingLogger(ILogger inner) : ILogger<CausalLmTrainer>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
