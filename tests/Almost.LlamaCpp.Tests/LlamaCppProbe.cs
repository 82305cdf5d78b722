using LLama;
using LLama.Common;
using LLama.Native;

namespace Almost.LlamaCpp.Tests;

/// <summary>Loads a GGUF file in llama.cpp (through LLamaSharp) and reads its tokenization, logits and greedy output.</summary>
internal sealed class LlamaCppProbe : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;

    static LlamaCppProbe() => LlamaCppNative.QuietLogs();

    public LlamaCppProbe(string path, uint contextSize = 256)
    {
        var parameters = new ModelParams(path) { ContextSize = contextSize, BatchSize = contextSize, GpuLayerCount = 0, Threads = 1, BatchThreads = 1,
            // An F32 cache and no flash attention (which rounds K/V to F16 on CPU): otherwise logits move by ~5e-3.
            TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32, FlashAttention = false };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
    }

    public int VocabSize => _weights.Vocab.Count;

    public SafeLlamaModelHandle Model => _weights.NativeHandle;

    /// <summary>llama.cpp's ids for <paramref name="text"/>, special tokens parsed, no BOS.</summary>
    public int[] Tokenize(string text) => _context.Tokenize(text, addBos: false, special: true).Select(t => (int)t).ToArray();

    /// <summary>Logits (T × V) for every position of <paramref name="ids"/>, from an empty cache.</summary>
    public float[][] Logits(IReadOnlyList<int> ids)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Count; i++)
        {
            batch.Add(ids[i], i, LLamaSeqId.Zero, logits: true);
        }

        Decode(batch);
        return Enumerable.Range(0, ids.Count).Select(i => _context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>The <paramref name="count"/> tokens greedy decoding appends to <paramref name="prompt"/>.</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; i++)
        {
            batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        }

        var output = new List<int>();
        int position = prompt.Count;
        for (int step = 0; step < count; step++)
        {
            Decode(batch);
            int next = ArgMax(_context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            output.Add(next);
            batch.Clear();
            batch.Add(next, position++, LLamaSeqId.Zero, logits: true);
        }

        return [.. output];
    }

    public static int ArgMax(ReadOnlySpan<float> values) => TokenSampler.ArgMax(values);

    private void Decode(LLamaBatch batch)
    {
        var result = _context.Decode(batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode returned {result}.");
        }
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
