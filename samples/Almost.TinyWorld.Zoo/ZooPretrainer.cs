using System.Diagnostics;
using Almost.Models.Llama;
using Almost.TinyWorld.Zoo;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.TinyWorld.ZooProgram;

/// <summary>Pretraining hyper-parameters shared by every size.</summary>
internal sealed record ZooTrainingOptions
{
    /// <summary>Sequences per optimizer step. 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Passes over the training blocks. 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many steps (0 = all); for smoke runs.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Fraction of steps of linear warm-up. 0.03.</summary>
    public double WarmupFraction { get; init; } = 0.03;

    /// <summary>AdamW weight decay. 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient-norm clip. 1.0.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Log every this many steps. 50.</summary>
    public int LogEvery { get; init; } = 50;
}

/// <summary>The causal-LM pretraining loop of the zoo: next-token cross-entropy, AdamW, warm-up + cosine, clipping.</summary>
internal static class ZooPretrainer
{
    public static (int Steps, long Tokens, double Seconds, double FinalLoss) Train(
        LlamaForCausalLM model, IReadOnlyList<long[]> blocks, IReadOnlyList<int> order, double peakLearningRate,
        ZooTrainingOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        int stepsPerEpoch = order.Count / options.BatchSize;
        int totalSteps = stepsPerEpoch * options.Epochs;
        if (options.MaxSteps > 0)
        {
            totalSteps = Math.Min(totalSteps, options.MaxSteps);
        }
        int warmup = Math.Max(1, (int)(totalSteps * options.WarmupFraction));
        int vocab = model.Config.VocabSize;
        int blockSize = blocks[0].Length;

        using var optimizer = optim.AdamW(model.parameters(), lr: peakLearningRate, beta1: 0.9, beta2: 0.95,
            eps: 1e-8, weight_decay: options.WeightDecay);
        model.train();
        var watch = Stopwatch.StartNew();
        var recent = new List<double>();
        double windowLoss = 0;
        int windowSteps = 0;
        for (int step = 0; step < totalSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double lr = step < warmup
                ? peakLearningRate * (step + 1) / warmup
                : peakLearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / Math.Max(1, totalSteps - warmup))));
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = lr;
            }

            double lossValue;
            using (var scope = NewDisposeScope())
            {
                int offset = (step % stepsPerEpoch) * options.BatchSize;
                var rows = new long[options.BatchSize * blockSize];
                for (int b = 0; b < options.BatchSize; b++)
                {
                    Array.Copy(blocks[order[offset + b]], 0, rows, b * blockSize, blockSize);
                }
                var ids = tensor(rows, [options.BatchSize, blockSize]).to(model.Device);   // (B, T)
                var logits = model.Logits(ids);                                            // (B, T, V) fp32
                var loss = nn.functional.cross_entropy(
                    logits.narrow(1, 0, blockSize - 1).reshape(-1, vocab),
                    ids.narrow(1, 1, blockSize - 1).reshape(-1));
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), options.MaxGradNorm);
                optimizer.step();
                lossValue = loss.item<float>();
            }

            windowLoss += lossValue;
            windowSteps++;
            if (step >= totalSteps - Math.Max(1, totalSteps / 20))
            {
                recent.Add(lossValue);
            }
            if ((step + 1) % options.LogEvery == 0 || step + 1 == totalSteps)
            {
                double seconds = watch.Elapsed.TotalSeconds;
                long tokens = (long)(step + 1) * options.BatchSize * blockSize;
                log($"step {step + 1}/{totalSteps} loss {windowLoss / windowSteps:F4} lr {lr:E2} tokens {tokens} {tokens / seconds:F0} tok/s {seconds:F0}s");
                windowLoss = 0;
                windowSteps = 0;
            }
        }

        return (totalSteps, (long)totalSteps * options.BatchSize * blockSize, watch.Elapsed.TotalSeconds, recent.Average());
    }
}
