using System.Collections;

namespace Almost.Rlhf.CausalLm;

/// <summary>
/// An in-memory list of <see cref="CausalLmExample"/>s, checked on construction. Build it from examples (SFT, with loss
/// masks) or with <see cref="Pack"/> from tokenized documents (pretraining).
/// </summary>
public sealed class CausalLmDataset : IReadOnlyList<CausalLmExample>
{
    private readonly CausalLmExample[] _examples;

    /// <summary>Wraps <paramref name="examples"/> after checking each one.</summary>
    /// <param name="examples">The examples.</param>
    /// <exception cref="ArgumentException">
    /// An example has fewer than 2 tokens, a negative token id, or a loss mask of another length (the message names its index).
    /// </exception>
    public CausalLmDataset(IEnumerable<CausalLmExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        _examples = examples.ToArray();
        for (var i = 0; i < _examples.Length; i++)
        {
            var example = _examples[i] ?? throw new ArgumentException($"Example {i} is null.", nameof(examples));
            if (example.InputIds is null || example.InputIds.Length < 2)
            {
                throw new ArgumentException(
                    $"Example {i} has {example.InputIds?.Length ?? 0} token(s); a causal-LM example needs at least 2 (an input and a target).",
                    nameof(examples));
            }

            if (example.LossMask is not null && example.LossMask.Length != example.InputIds.Length)
            {
                throw new ArgumentException(
                    $"Example {i} has {example.InputIds.Length} tokens but a loss mask of length {example.LossMask.Length}; they must match.",
                    nameof(examples));
            }

            var negative = Array.FindIndex(example.InputIds, id => id < 0);
            if (negative >= 0)
            {
                throw new ArgumentException($"Example {i} has token id {example.InputIds[negative]} at position {negative}; ids must be >= 0.", nameof(examples));
            }

            TokenCount += example.InputIds.Length;
            MaxLength = Math.Max(MaxLength, example.InputIds.Length);
        }
    }

    /// <summary>Tokens in all examples.</summary>
    public long TokenCount { get; }

    /// <summary>Length of the longest example.</summary>
    public int MaxLength { get; }

    /// <inheritdoc />
    public int Count => _examples.Length;

    /// <inheritdoc />
    public CausalLmExample this[int index] => _examples[index];

    /// <summary>
    /// Packs documents for pretraining: concatenates them in order, each followed by <paramref name="eosTokenId"/>,
    /// and cuts the stream into consecutive blocks of <paramref name="blockSize"/> tokens (the shift to targets
    /// happens inside each block, as in Hugging Face's <c>group_texts</c>). The tail shorter than a block is dropped.
    /// Deterministic: same documents, same blocks. Blocks have no loss mask and no padding, so training batches
    /// need no attention mask.
    /// </summary>
    /// <param name="documents">Tokenized documents (without EOS).</param>
    /// <param name="blockSize">Tokens per block, at least 2 and at most the model's <c>max_position_embeddings</c>.</param>
    /// <param name="eosTokenId">The separator appended after each document.</param>
    /// <returns>The blocks.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> &lt; 2 or <paramref name="eosTokenId"/> &lt; 0.</exception>
    /// <exception cref="ArgumentException">The documents hold fewer tokens than one block.</exception>
    public static CausalLmDataset Pack(IEnumerable<IReadOnlyList<int>> documents, int blockSize, int eosTokenId)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (blockSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "BlockSize must be at least 2 (one input and one target token).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(eosTokenId);
        var blocks = new List<CausalLmExample>();
        var current = new int[blockSize];
        var filled = 0;
        long total = 0;
        void Push(int id)
        {
            current[filled++] = id;
            if (filled == blockSize)
            {
                blocks.Add(new CausalLmExample(current));
                current = new int[blockSize];
                filled = 0;
            }
        }

        foreach (var document in documents)
        {
            ArgumentNullException.ThrowIfNull(document, nameof(documents));
            foreach (var id in document)
            {
                Push(id);
            }

            Push(eosTokenId);
            total += document.Count + 1;
        }

        if (blocks.Count == 0)
        {
            throw new ArgumentException(
                $"The documents hold {total} tokens (with EOS separators), fewer than one block of {blockSize}: nothing to train on.",
                nameof(documents));
        }

        return new CausalLmDataset(blocks);
    }

    /// <inheritdoc />
    public IEnumerator<CausalLmExample> GetEnumerator() => ((IEnumerable<CausalLmExample>)_examples).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _examples.GetEnumerator();
}
