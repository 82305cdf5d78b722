namespace Almost.LlamaCpp;

/// <summary>
/// Picks the next token from one row of raw logits: greedy at temperature 0, otherwise softmax(logits / T) cut to the
/// top k and to the nucleus p, then one draw from a seeded <see cref="Random"/> (so samples repeat with the seed).
/// </summary>
internal static class TokenSampler
{
    public static int Sample(ReadOnlySpan<float> logits, double temperature, int topK, double topP, Random random)
    {
        if (temperature <= 0)
        {
            return ArgMax(logits);
        }

        int vocab = logits.Length;
        var order = new int[vocab];
        var probs = new double[vocab];
        for (int i = 0; i < vocab; i++)
        {
            order[i] = i;
        }

        float[] copy = logits.ToArray();
        Array.Sort(order, (a, b) => copy[b].CompareTo(copy[a]));
        int keep = topK > 0 ? Math.Min(topK, vocab) : vocab;
        double max = copy[order[0]], sum = 0;
        for (int i = 0; i < keep; i++)
        {
            probs[i] = Math.Exp((copy[order[i]] - max) / temperature);
            sum += probs[i];
        }

        if (topP < 1.0)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += probs[i] / sum;
                if (cumulative >= topP)
                {
                    keep = i + 1;
                    break;
                }
            }

            sum = 0;
            for (int i = 0; i < keep; i++)
            {
                sum += probs[i];
            }
        }

        double draw = random.NextDouble() * sum;
        for (int i = 0; i < keep; i++)
        {
            draw -= probs[i];
            if (draw <= 0)
            {
                return order[i];
            }
        }

        return order[keep - 1];
    }

    /// <summary>log softmax(logits)[token], from the raw logits.</summary>
    public static float LogProb(ReadOnlySpan<float> logits, int token)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        foreach (float v in logits)
        {
            sum += Math.Exp(v - max);
        }

        return (float)(logits[token] - max - Math.Log(sum));
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
