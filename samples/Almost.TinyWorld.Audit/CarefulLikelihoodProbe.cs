using Almost.Models.Llama;
using Almost.Tokenization;
using static TorchSharp.torch;

namespace Almost.TinyWorld;

/// <summary>
/// One cell of a <see cref="CarefulLikelihoodProbe"/>: how likely a model finds the careful answer after a prompt
/// configuration.
/// </summary>
/// <param name="Model">The model's name.</param>
/// <param name="Shots">Demonstrations in the prompt.</param>
/// <param name="Demonstrations">Their quality (persona name, lower case).</param>
/// <param name="Tasks">Tasks measured.</param>
/// <param name="MeanLogProb">Mean over tasks of log p(careful answer | prompt), in nats (summed over its tokens).</param>
/// <param name="ByFamily">The same mean per task family.</param>
public sealed record CarefulLikelihoodCell(
    string Model,
    int Shots,
    string Demonstrations,
    int Tasks,
    double MeanLogProb,
    IReadOnlyDictionary<string, double> ByFamily);

/// <summary>
/// A noise-free companion of <see cref="PremiseEvaluation"/>: instead of sampling and scoring, it measures the
/// log-probability a model gives to the careful persona's exact answer (<see cref="PersonaResponder.CarefulAnswer"/>)
/// after each prompt configuration of the premise table. How much it rises from 0 to 1, 3 and 5 careful shots shows
/// how far a model reads the demonstrations, without the ±0.02 sampling noise of the oracle scores.
/// </summary>
public static class CarefulLikelihoodProbe
{
    /// <summary>
    /// Measures every shots × quality configuration of <paramref name="evaluation"/> (same tasks, same prompts) on
    /// <paramref name="model"/>, in batches of right-padded sequences (causal attention: padding after a sequence does
    /// not change it).
    /// </summary>
    /// <param name="evaluation">The premise evaluation whose tasks and prompts are measured.</param>
    /// <param name="name">The model's name, written into the cells.</param>
    /// <param name="model">The language model.</param>
    /// <param name="tokenizer">Its tokenizer; its BOS token is prepended to every prompt, as the generator does.</param>
    /// <param name="batchSize">Sequences per forward pass.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>One cell per shots × quality, in option order.</returns>
    public static IReadOnlyList<CarefulLikelihoodCell> Measure(
        PremiseEvaluation evaluation, string name, LlamaForCausalLM model, AlmostTokenizer tokenizer, int batchSize = 32,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int pad = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0;
        var tasks = evaluation.Tasks;
        var answers = tasks.Select(t => tokenizer.Encode(" " + PersonaResponder.CarefulAnswer(t))).ToArray();

        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var cells = new List<CarefulLikelihoodCell>();
            double[]? zeroShot = null;   // a 0-shot prompt carries no demonstrations: the same for every quality
            foreach (var (shots, quality) in evaluation.Configurations)
            {
                var logProbs = shots == 0 && zeroShot is not null ? zeroShot : AnswerLogProbs(shots, quality);
                zeroShot = shots == 0 ? logProbs : zeroShot;
                cells.Add(new CarefulLikelihoodCell(
                    name, shots, PremiseReport.QualityName(quality), tasks.Count, logProbs.Average(),
                    PremiseEvaluation.MeanByFamily(tasks.Select((t, i) => (t.Family, logProbs[i])))));
            }
            return cells;
        }
        finally
        {
            model.train(wasTraining);
        }

        double[] AnswerLogProbs(int shots, Persona quality)
        {
            var logProbs = new double[tasks.Count];
            for (int start = 0; start < tasks.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(batchSize, tasks.Count - start);
                var prompts = Enumerable.Range(start, count)
                    .Select(i => tokenizer.Encode(evaluation.Prompt(tasks[i], shots, quality), addBos: true)).ToArray();
                int length = Enumerable.Range(0, count).Max(j => prompts[j].Length + answers[start + j].Length);
                var ids = new long[count * length];
                var mask = new float[count * (length - 1)];
                Array.Fill(ids, pad);
                for (int j = 0; j < count; j++)
                {
                    int[] prompt = prompts[j], answer = answers[start + j];
                    for (int p = 0; p < prompt.Length; p++)
                    {
                        ids[j * length + p] = prompt[p];
                    }
                    for (int a = 0; a < answer.Length; a++)
                    {
                        ids[j * length + prompt.Length + a] = answer[a];
                        mask[j * (length - 1) + prompt.Length - 1 + a] = 1;   // log p(answer[a] | everything before it)
                    }
                }
                using var scope = NewDisposeScope();
                var input = tensor(ids, [count, length]).to(model.Device);
                var sums = (model.TokenLogProbs(input) * tensor(mask, [count, length - 1]).to(model.Device))
                    .sum(1).to(ScalarType.Float64).cpu().data<double>().ToArray();
                sums.CopyTo(logProbs, start);
            }
            return logProbs;
        }
    }
}
