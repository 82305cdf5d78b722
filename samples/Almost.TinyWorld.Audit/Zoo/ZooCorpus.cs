using Almost.Models.Llama;
using Almost.Rlhf.CausalLm;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.TinyWorld.Zoo;

/// <summary>
/// Builds the zoo's token blocks: the training corpus, the held-out corpus, packing into fixed-length blocks, and the
/// mean next-token loss of a model on blocks.
/// </summary>
public static class ZooCorpus
{
    private const double DefaultMixCarefulShare = 0.5;

    /// <summary>The training documents (<see cref="TaskSplit.Train"/> tasks, the mix of <see cref="CorpusOptionsOf"/>).</summary>
    public static IReadOnlyList<string> TrainTexts(ZooCorpusOptions options) =>
        new CorpusGenerator(CorpusOptionsOf(options, options.Seed, TaskSplit.Train))
            .Generate(options.TrainDocuments).Select(d => d.Text).ToList();

    /// <summary>Held-out documents: the same mix, built from <see cref="TaskSplit.Eval"/> tasks only.</summary>
    public static IReadOnlyList<string> EvalTexts(ZooCorpusOptions options) =>
        new CorpusGenerator(CorpusOptionsOf(options, options.EvalSeed, TaskSplit.Eval))
            .Generate(options.EvalDocuments).Select(d => d.Text).ToList();

    /// <summary>
    /// The <see cref="CorpusOptions"/> of a zoo corpus: the default mix with <see cref="ZooCorpusOptions.CarefulShare"/>
    /// of the transcript weight careful and the rest split among the other transcript kinds in their default proportions.
    /// </summary>
    public static CorpusOptions CorpusOptionsOf(ZooCorpusOptions options, int seed, TaskSplit split)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CarefulShare is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CarefulShare, "Expected 0 < CarefulShare < 1.");
        }
        var d = new CorpusOptions();
        double transcripts = d.Careful + d.Sloppy + d.Rude + d.Evasive + d.HarmfulCompliant;
        double others = d.Sloppy + d.Rude + d.Evasive + d.HarmfulCompliant;
        // A share of 0.5 is the default mix: keep its weights bit for bit (no corpus moved by a rounding error).
        bool defaultMix = options.CarefulShare == DefaultMixCarefulShare;
        double scale = defaultMix ? 1 : transcripts * (1 - options.CarefulShare) / others;
        double careful = defaultMix ? d.Careful : transcripts * options.CarefulShare;
        return d with
        {
            Seed = seed, Split = split,
            Careful = careful, Sloppy = d.Sloppy * scale, Rude = d.Rude * scale,
            Evasive = d.Evasive * scale, HarmfulCompliant = d.HarmfulCompliant * scale,
            MinPersonaConsistency = options.MinPersonaConsistency, LapseScope = options.LapseScope,
            MinTurns = options.MinTurns, MaxTurns = options.MaxTurns,
        };
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> with <paramref name="tokenizer"/> and packs them with the trainer's
    /// <see cref="CausalLmDataset.Pack"/>: documents back to back, each followed by the EOS token
    /// (<c>&lt;|endoftext|&gt;</c>, also the BOS a generator prepends to a prompt), cut into blocks of
    /// <paramref name="blockSize"/> tokens; the incomplete tail is dropped.
    /// </summary>
    public static CausalLmDataset Pack(AlmostTokenizer tokenizer, IEnumerable<string> texts, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(texts);
        int eos = tokenizer.EosTokenId ?? throw new ArgumentException("The tokenizer has no EOS token.", nameof(tokenizer));
        return CausalLmDataset.Pack(texts.Select(text => (IReadOnlyList<int>)tokenizer.Encode(text)), blockSize, eos);
    }

    /// <summary>The first <see cref="ZooCorpusOptions.CheckSequences"/> held-out blocks.</summary>
    public static IReadOnlyList<int[]> CheckBlocks(AlmostTokenizer tokenizer, ZooCorpusOptions options) =>
        Pack(tokenizer, EvalTexts(options), options.BlockSize).Take(options.CheckSequences).Select(e => e.InputIds).ToList();

    /// <summary>Mean next-token cross-entropy (nats) of <paramref name="model"/> over every position of <paramref name="blocks"/>.</summary>
    public static double MeanLoss(LlamaForCausalLM model, IReadOnlyList<int[]> blocks, int batchSize = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(blocks);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double sum = 0;
            long count = 0;
            for (int start = 0; start < blocks.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = blocks.Skip(start).Take(batchSize).ToArray();
                var ids = stack(batch.Select(b => tensor(Array.ConvertAll(b, id => (long)id))).ToArray()).to(model.Device);
                var logProbs = model.TokenLogProbs(ids);                 // (B, T-1)
                sum -= logProbs.to(ScalarType.Float64).sum().item<double>();
                count += logProbs.numel();
            }
            return sum / count;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
