using Almost.Tokenization;

namespace Almost.Generation;

/// <summary>
/// Turns one <see cref="LocalGenerator"/> batch's host-side rows into <see cref="GenerationDelta"/>s after every
/// decoding step: per row, the tokens accepted since the last step, the text that became safe to hand out, and the
/// finish reason on its last delta.
/// </summary>
internal sealed class StreamingBatch
{
    private readonly AlmostTokenizer _tokenizer;
    private readonly IReadOnlyList<(int Prompt, int Sample)> _rows;
    private readonly Action<GenerationDelta> _emit;
    private readonly StreamedText[] _texts;

    /// <summary>Streams the rows of one batch; <paramref name="rows"/> names the (prompt, sample) of each row.</summary>
    public StreamingBatch(
        AlmostTokenizer tokenizer, IReadOnlyList<(int Prompt, int Sample)> rows, IReadOnlyList<string> stopStrings, Action<GenerationDelta> emit)
    {
        _tokenizer = tokenizer;
        _rows = rows;
        _emit = emit;
        var stops = stopStrings.Where(s => s.Length > 0).ToArray();
        _texts = [.. rows.Select(_ => new StreamedText(stops))];
    }

    /// <summary>
    /// Emits what changed in <paramref name="state"/> since the last call. <paramref name="logProbs"/> holds the
    /// (rows × <paramref name="width"/>) log-probabilities of steps <paramref name="fromStep"/> onwards, or is null.
    /// </summary>
    public void AfterSteps(IReadOnlyList<DecodingRow> state, float[]? logProbs, int fromStep, int width)
    {
        for (var r = 0; r < state.Count; r++)
        {
            var text = _texts[r];
            var row = state[r];
            var fresh = Math.Max(0, row.Tokens.Count - text.SentTokens);
            if (text.Finished || (fresh == 0 && row.Reason is null))
            {
                continue;
            }

            var tokens = row.Tokens.GetRange(text.SentTokens, fresh);
            float[]? values = null;
            if (logProbs is not null)
            {
                // Token t was sampled at step t.
                values = new float[fresh];
                for (var i = 0; i < fresh; i++)
                {
                    values[i] = logProbs[r * width + text.SentTokens + i - fromStep];
                }
            }

            text.SentTokens += fresh;
            var delta = row.Reason is null
                ? text.Advance(_tokenizer.Decode(row.Tokens))
                : text.Finish(row.Text ?? _tokenizer.Decode(row.Tokens));
            _emit(new GenerationDelta(_rows[r].Prompt, _rows[r].Sample, delta, tokens, values, row.Reason));
        }
    }
}
