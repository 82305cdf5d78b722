using Almost.Data;
using Almost.Models.Llama;
using Almost.Rlhf.Sft;
using Almost.Rlhf.Training;
using Almost.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace Almost.Rlhf.Dpo;

/// <summary>
/// Direct preference optimisation on TRL preference records (<c>{prompt, chosen, rejected}</c>: rendered text, or
/// conversations rendered with the chat template that SFT and generation use): DPO, IPO or length-normalised DPO with optional label smoothing, on the shared supervised loop (schedules,
/// accumulation, clipping, evaluation, checkpoints, exact resume). Chosen and rejected go through the model in one
/// batch; log-probabilities are summed over completion tokens only.
/// </summary>
/// <remarks>
/// The reference log-probabilities are computed once, in a pass before training, and cached in the examples
/// (<see cref="CacheReferenceLogProbs"/>), so the reference model is not needed during training; pass a reference to
/// the constructor instead to compute them on the fly in every step.
/// </remarks>
public sealed class DpoTrainer : ITrainer
{
    private readonly SupervisedTrainingLoop<DpoBatch> _loop;

    /// <summary>Prepares the run.</summary>
    /// <param name="policy">The policy (the SFT model), trained in place.</param>
    /// <param name="trainExamples">Tokenized comparisons (<see cref="Tokenize(IEnumerable{PreferenceRecord}, AlmostTokenizer, int)"/>, <see cref="TokenizeFileAsync"/>); with cached reference log-probs unless <paramref name="reference"/> is given.</param>
    /// <param name="options">Options; <see cref="TrainingOptions.OutputDir"/> is required.</param>
    /// <param name="reference">The frozen reference for on-the-fly log-probs; null when the examples carry cached ones.</param>
    /// <param name="evalExamples">Optional evaluation comparisons (same reference rule).</param>
    /// <param name="logger">Structured logs; null for none.</param>
    /// <exception cref="ArgumentException">No examples, examples without cached log-probs and no reference, or an option out of range.</exception>
    public DpoTrainer(
        LlamaForCausalLM policy,
        IReadOnlyList<DpoExample> trainExamples,
        DpoTrainingOptions options,
        LlamaForCausalLM? reference = null,
        IReadOnlyList<DpoExample>? evalExamples = null,
        ILogger<DpoTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(trainExamples);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (ReferenceEquals(policy, reference))
        {
            throw new ArgumentException("The reference must be a separate frozen copy of the policy.", nameof(reference));
        }

        foreach (var (set, what) in new[] { (trainExamples, "training"), (evalExamples, "evaluation") })
        {
            if (set is not null && reference is null && set.Any(e => e.ReferenceChosen is null || e.ReferenceRejected is null))
            {
                throw new ArgumentException(
                    $"The {what} examples have no cached reference log-probs; call DpoTrainer.CacheReferenceLogProbs first or pass the reference model.",
                    nameof(reference));
            }
        }

        if (reference is not null)
        {
            foreach (var p in reference.parameters())
            {
                p.requires_grad = false;
            }
        }

        Options = options;
        var pad = policy.Config.ResolvePadTokenId();
        _loop = new SupervisedTrainingLoop<DpoBatch>(new Objective(policy, reference, trainExamples, evalExamples, pad, options),
            options, (ILogger?)logger ?? NullLogger<DpoTrainer>.Instance);
    }

    /// <summary>The options of this run.</summary>
    public DpoTrainingOptions Options { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long TotalSteps => _loop.TotalSteps;

    /// <inheritdoc />
    public Task<TrainingResult> TrainAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => _loop.Run(progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Tokenizes preference records: the prompt and each completion are encoded separately (as generation sees them),
    /// EOS is appended to each completion, and a prompt that does not fit <paramref name="maxLength"/> with the longer
    /// completion is cut from the left.
    /// </summary>
    /// <param name="records">The comparisons.</param>
    /// <param name="tokenizer">The policy's tokenizer.</param>
    /// <param name="maxLength">Longest prompt + completion.</param>
    /// <returns>The examples, in order.</returns>
    /// <exception cref="ArgumentException">A completion alone longer than <paramref name="maxLength"/> − 1 tokens (its end would be cut).</exception>
    public static IReadOnlyList<DpoExample> Tokenize(IEnumerable<PreferenceRecord> records, AlmostTokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        return NonEmpty(records.Select((record, index) => Wrap(() => TokenizeOne(record, tokenizer, maxLength), index)).ToList(), nameof(records));
    }

    /// <summary>
    /// Tokenizes conversational preference records (TRL's <c>{"prompt": [...], "chosen": [...], "rejected": [...]}</c>,
    /// or the implicit-prompt form): each is rendered by <see cref="RenderConversation"/> with the chat template SFT and
    /// generation use, then tokenized as the plain record it renders to — prompt tokens are the rendered prompt with
    /// the generation prompt, completion tokens the assistant turn (with the template's closing markup) and EOS.
    /// </summary>
    /// <param name="records">The comparisons.</param>
    /// <param name="tokenizer">The policy's tokenizer.</param>
    /// <param name="maxLength">Longest prompt + completion.</param>
    /// <param name="template">The chat template; null for the ALMoST transcript (<see cref="TranscriptChatTemplate"/>).</param>
    /// <returns>The examples, in order.</returns>
    /// <exception cref="ArgumentException">A malformed record (see <see cref="ConversationalPreferenceRecord"/>), a turn the template refuses, or a completion too long; the message names the record.</exception>
    public static IReadOnlyList<DpoExample> Tokenize(
        IEnumerable<ConversationalPreferenceRecord> records, AlmostTokenizer tokenizer, int maxLength, IChatTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        return NonEmpty(records.Select((record, index) => Wrap(() => TokenizeOne(RenderConversation(record, template), tokenizer, maxLength), index)).ToList(),
            nameof(records));
    }

    /// <summary>
    /// Renders a conversational preference record to the plain record DPO trains on: the shared prompt
    /// (<see cref="ConversationalPreferenceRecord.ExtractPrompt"/>) rendered with the generation prompt, and each
    /// response as the text the template writes for its assistant turn, cut by <see cref="SftTokenizer.RenderLastTurn"/>
    /// (the code SFT masks assistant turns with). With the transcript, <c>[user "Hi"]</c> / <c>[assistant "Hello."]</c>
    /// becomes prompt <c>"\n\nHuman: Hi\n\nAssistant:"</c> and chosen <c>" Hello."</c>. Extra fields are kept.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="template">The chat template; null for the ALMoST transcript.</param>
    /// <returns>The rendered record.</returns>
    /// <exception cref="ArgumentException">The record is malformed or the template refuses one of its turns.</exception>
    public static PreferenceRecord RenderConversation(ConversationalPreferenceRecord record, IChatTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        var (prompt, chosen, rejected) = record.ExtractPrompt();
        var (promptText, chosenText) = SftTokenizer.RenderLastTurn([.. prompt, chosen], template);
        var (_, rejectedText) = SftTokenizer.RenderLastTurn([.. prompt, rejected], template);
        return new PreferenceRecord { Prompt = promptText, Chosen = chosenText, Rejected = rejectedText, Extra = record.Extra };
    }

    /// <summary>
    /// Reads and tokenizes a JSONL file of preference records, plain (<c>{prompt, chosen, rejected}</c> strings) or
    /// conversational (message lists, explicit or implicit prompt), the format detected from the first record
    /// (<see cref="DatasetFormatDetector"/>; a file whose first record is not conversational is read as plain); every
    /// line must be in that format. Conversations are rendered with
    /// <paramref name="template"/> (<see cref="RenderConversation"/>).
    /// </summary>
    /// <param name="path">The JSONL file.</param>
    /// <param name="tokenizer">The policy's tokenizer.</param>
    /// <param name="maxLength">Longest prompt + completion.</param>
    /// <param name="template">The chat template for conversational records; null for the ALMoST transcript.</param>
    /// <param name="readOptions">Strict (default) or lenient; lenient skips and reports every bad line, including lines that fail to render or fit.</param>
    /// <param name="cancellationToken">Stops the read between lines.</param>
    /// <returns>The examples, in file order.</returns>
    /// <exception cref="JsonlFormatException">
    /// The file's first record is not a preference record, a line is malformed, fails to render or has a completion too
    /// long (strict mode), or no record is left; the message names the file, the line and the field.
    /// </exception>
    public static async Task<IReadOnlyList<DpoExample>> TokenizeFileAsync(
        string path, AlmostTokenizer tokenizer, int maxLength, IChatTemplate? template = null, JsonlReadOptions? readOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        readOptions ??= new JsonlReadOptions();
        var format = await DatasetFormatDetector.DetectFileAsync(path, cancellationToken).ConfigureAwait(false);
        var examples = new List<DpoExample>();
        var skipped = 0;
        void Add(Func<DpoExample> tokenize, long line)
        {
            try
            {
                examples.Add(tokenize());
            }
            catch (ArgumentException e)
            {
                var reason = Reason(e);
                if (!readOptions.Lenient)
                {
                    throw new JsonlFormatException(path, line, reason, e);
                }

                skipped++;
                readOptions.Logger?.LogWarning("Skipped {FilePath} line {LineNumber}: {Reason}", path, line, reason);
                readOptions.LineSkipped?.Invoke(new JsonlSkippedLine(path, line, reason));
            }
        }

        var counting = readOptions with { LineSkipped = line => { skipped++; readOptions.LineSkipped?.Invoke(line); } };
        if (format == DatasetFormat.ConversationalPreference)
        {
            await foreach (var entry in JsonlReader.ReadEntriesAsync<ConversationalPreferenceRecord>(path, counting, cancellationToken).ConfigureAwait(false))
            {
                Add(() => TokenizeOne(RenderConversation(entry.Record, template), tokenizer, maxLength), entry.LineNumber);
            }
        }
        else
        {
            // Plain records, and anything else: the reader then names the line and the field that is not a plain preference.
            await foreach (var entry in JsonlReader.ReadEntriesAsync<PreferenceRecord>(path, counting, cancellationToken).ConfigureAwait(false))
            {
                Add(() => TokenizeOne(entry.Record, tokenizer, maxLength), entry.LineNumber);
            }
        }

        if (examples.Count == 0)
        {
            throw new JsonlFormatException(path, 0, $"empty dataset (no usable preference record; {skipped} line(s) skipped)");
        }

        return examples;
    }

    /// <summary>Prompt and completion ids of one plain record; the prompt is cut from the left to fit <paramref name="maxLength"/>.</summary>
    private static DpoExample TokenizeOne(PreferenceRecord record, AlmostTokenizer tokenizer, int maxLength)
    {
        int[] Completion(string text) => tokenizer.EosTokenId is { } eos ? [.. tokenizer.Encode(text), eos] : tokenizer.Encode(text);
        var prompt = tokenizer.Encode(record.Prompt, tokenizer.BosTokenId is not null);
        var chosen = Completion(record.Chosen);
        var rejected = Completion(record.Rejected);
        var room = maxLength - Math.Max(chosen.Length, rejected.Length);
        if (room < 1)
        {
            throw new ArgumentException(
                $"a completion has {Math.Max(chosen.Length, rejected.Length)} tokens, which leaves no room for the prompt within MaxLength {maxLength}.");
        }

        return new DpoExample(prompt.Length > room ? prompt[^room..] : prompt, chosen, rejected);
    }

    private static DpoExample Wrap(Func<DpoExample> tokenize, int index)
    {
        try
        {
            return tokenize();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Record {index}: {Reason(e)}", "records", e);
        }
    }

    /// <summary>The exception's message without the " (Parameter 'x')" that names our own parameter, not the user's field.</summary>
    private static string Reason(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;

    private static IReadOnlyList<DpoExample> NonEmpty(List<DpoExample> examples, string parameter) =>
        examples.Count > 0 ? examples : throw new ArgumentException("No preference records: there is nothing to train on.", parameter);

    /// <summary>
    /// Computes the reference model's summed log-probabilities of every example's completions once (no-grad, eval
    /// mode) and returns the examples with them cached; afterwards the reference can be disposed.
    /// </summary>
    /// <param name="reference">The frozen reference (the SFT policy).</param>
    /// <param name="examples">Tokenized comparisons.</param>
    /// <param name="batchSize">Comparisons per forward.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    /// <returns>The examples with <see cref="DpoExample.ReferenceChosen"/> and <see cref="DpoExample.ReferenceRejected"/> set.</returns>
    public static IReadOnlyList<DpoExample> CacheReferenceLogProbs(
        LlamaForCausalLM reference, IReadOnlyList<DpoExample> examples, int batchSize = 8, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var pad = reference.Config.ResolvePadTokenId();
        var cached = new DpoExample[examples.Count];
        reference.eval();
        using var noGrad = no_grad();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var slice = examples.Skip(start).Take(batchSize).ToArray();
            using var batch = DpoBatch.Collate(slice, pad, reference.Device);
            var sums = batch.CompletionLogProbs(reference).cpu().data<float>().ToArray();
            for (int i = 0; i < slice.Length; i++)
            {
                cached[start + i] = slice[i] with { ReferenceChosen = sums[i], ReferenceRejected = sums[slice.Length + i] };
            }
        }

        return cached;
    }

    private sealed class Objective(
        LlamaForCausalLM policy, LlamaForCausalLM? reference, IReadOnlyList<DpoExample> train, IReadOnlyList<DpoExample>? eval,
        int pad, DpoTrainingOptions options) : ITrainingObjective<DpoBatch>
    {
        public nn.Module Model => policy;

        public int TrainExampleCount => train.Count;

        public bool HasEvaluation => eval is { Count: > 0 };

        public DpoBatch CreateBatch(IReadOnlyList<int> exampleIndices) =>
            DpoBatch.Collate(exampleIndices.Select(i => train[i]).ToArray(), pad, policy.Device);

        public ObjectiveOutput ComputeLoss(DpoBatch batch)
        {
            int b = batch.Pairs;
            var logps = batch.CompletionLogProbs(policy);
            Tensor referenceLogps;
            if (reference is not null)
            {
                using var noGrad = no_grad();
                reference.eval();
                referenceLogps = batch.CompletionLogProbs(reference);
            }
            else
            {
                referenceLogps = batch.ReferenceLogProbs!;
            }

            return DpoLoss.Compute(logps.narrow(0, 0, b), logps.narrow(0, b, b), referenceLogps.narrow(0, 0, b), referenceLogps.narrow(0, b, b),
                batch.CompletionTokens.narrow(0, 0, b), batch.CompletionTokens.narrow(0, b, b), options.Beta, options.Loss, options.LabelSmoothing);
        }

        public IReadOnlyDictionary<string, double> Evaluate(CancellationToken cancellationToken)
        {
            var data = eval!;
            var names = new[] { "reward_accuracy", "chosen_reward", "rejected_reward", "margin", "chosen_logp" };
            var sums = new double[names.Length + 1];
            long pairs = 0;
            for (int start = 0; start < data.Count; start += options.PerDeviceBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = DpoBatch.Collate(data.Skip(start).Take(options.PerDeviceBatchSize).ToArray(), pad, policy.Device);
                var output = ComputeLoss(batch);
                var values = stack([output.LossSum, .. names.Select(n => output.Metrics![n].Sum)]).cpu().data<float>().ToArray();
                for (int i = 0; i < values.Length; i++)
                {
                    sums[i] += values[i];
                }

                pairs += batch.Pairs;
            }

            var result = new Dictionary<string, double> { ["loss"] = sums[0] / pairs };
            for (int i = 0; i < names.Length; i++)
            {
                result[names[i]] = sums[i + 1] / pairs;
            }

            return result;
        }

        public void SaveModel(string folder) => policy.SavePretrained(folder);

        public void LoadModel(string folder) => policy.LoadWeights(folder);
    }
}
