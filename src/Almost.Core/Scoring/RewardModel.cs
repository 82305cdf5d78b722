using Almost.Models.Llama;
using Almost.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Scoring;

/// <summary>
/// The local <see cref="IRewardModel"/>: a <see cref="LlamaForSequenceClassification"/> and its tokenizer. Each
/// (prompt, response) is encoded by <see cref="RewardSequenceEncoder"/> (the convention the trainer uses too), inputs
/// are sorted by length and scored in left-padded batches under <c>no_grad</c>, one dispose scope and one host copy
/// per batch. A score does not depend on the other inputs, the batch size or the padding.
/// </summary>
/// <remarks>The model is not owned: dispose it yourself. Not safe for concurrent calls on one model.</remarks>
public sealed class RewardModel : IRewardModel
{
    private readonly LlamaForSequenceClassification _model;
    private readonly RewardModelOptions _options;

    /// <summary>Creates the scorer.</summary>
    /// <param name="model">The scalar-head model.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="options">Batching, truncation, BOS and normalisation; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="RewardModelOptions.BatchSize"/> is below 1, or the max length is out of range.</exception>
    /// <exception cref="InvalidOperationException"><see cref="RewardModelOptions.Normalize"/> is set but the model has no stored mean / std.</exception>
    public RewardModel(LlamaForSequenceClassification model, AlmostTokenizer tokenizer, RewardModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _options = options ?? new RewardModelOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BatchSize, 1, nameof(options));
        if (_options.Normalize && model.Normalization is null)
        {
            throw new InvalidOperationException(
                "RewardModelOptions.Normalize is set but the model has no stored mean/std (config.json 'mean' and 'std'); train it with the reward-model trainer or set Normalization.");
        }

        _model = model;
        Encoder = RewardSequenceEncoder.For(model, tokenizer, _options.MaxLength, _options.AddBos);
    }

    /// <summary>The model being scored with.</summary>
    public LlamaForSequenceClassification Model => _model;

    /// <summary>How texts become token ids (BOS, EOS, truncation).</summary>
    public RewardSequenceEncoder Encoder { get; }

    /// <inheritdoc />
    public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var encoded = Encode(inputs);
        return Task.Run(() => (IReadOnlyList<double>)Score(encoded, cancellationToken), cancellationToken);
    }

    /// <summary>Scores inputs already encoded with <see cref="Encoder"/> (synchronous).</summary>
    /// <param name="sequences">Token ids per input.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>One score per sequence, in order (normalised when <see cref="RewardModelOptions.Normalize"/>).</returns>
    public double[] Score(IReadOnlyList<int[]> sequences, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var scores = new double[sequences.Count];
        var order = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Length).ToArray();
        var stats = _options.Normalize ? _model.Normalization : null;
        using var noGrad = no_grad();
        for (var start = 0; start < order.Length; start += _options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = order.Skip(start).Take(_options.BatchSize).ToArray();
            using var scope = NewDisposeScope();
            var batch = RewardModelBatch.LeftPadded(rows.Select(i => sequences[i]).ToArray(), Encoder.PadTokenId, _model.Device);
            var rewards = _model.forward(batch.InputIds, batch.AttentionMask).cpu().data<float>().ToArray();
            for (var k = 0; k < rows.Length; k++)
            {
                scores[rows[k]] = stats is null ? rewards[k] : stats.Apply(rewards[k]);
            }
        }

        return scores;
    }

    private int[][] Encode(IReadOnlyList<RewardModelInput> inputs)
    {
        var encoded = new int[inputs.Count][];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i] ?? throw new ArgumentException($"Input {i} is null.", nameof(inputs));
            try
            {
                encoded[i] = Encoder.Encode(input.Prompt, input.Response);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Input {i}: {e.Message}", nameof(inputs), e);
            }
        }

        return encoded;
    }
}
