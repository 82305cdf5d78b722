using System.Text.RegularExpressions;
using Almost.Generation;
using Almost.Scoring;
using Almost.Tokenization;

namespace Almost.Evaluation;

/// <summary>
/// An LLM as the judge of a pairwise comparison, through any <see cref="ITextGenerator"/> (a local model or an
/// OpenAI-compatible server): it is shown the user's request and the two responses and asked for a verdict
/// <c>[[A]]</c>, <c>[[B]]</c> or <c>[[C]]</c> (tie). Every question is asked in both orders, to cancel the judge's
/// position bias as pairwise LLM evaluation does: the verdict counts only when both orders agree, and is a tie
/// otherwise (or when either answer cannot be read).
/// </summary>
public sealed partial class LlmPreferenceJudge : IPreferenceJudge
{
    /// <summary>The default judging prompt; <c>{question}</c>, <c>{answer_a}</c> and <c>{answer_b}</c> are replaced.</summary>
    public const string DefaultPromptTemplate =
        "You are judging two AI assistants. Read the user's request and the two answers, then decide which answer is " +
        "more helpful, correct, honest and harmless. Ignore the order of the answers and their length.\n\n" +
        "[User request]\n{question}\n\n[Answer A]\n{answer_a}\n\n[Answer B]\n{answer_b}\n\n" +
        "Reply with one verdict: [[A]] if answer A is better, [[B]] if answer B is better, [[C]] for a tie.\nVerdict: ";

    private readonly ITextGenerator _generator;
    private readonly GenerationOptions _sampling;
    private readonly string _template;

    /// <summary>Creates the judge.</summary>
    /// <param name="generator">The judge model.</param>
    /// <param name="sampling">Sampling of its answer; null for greedy (temperature 0), 64 new tokens.</param>
    /// <param name="promptTemplate">The prompt, with <c>{question}</c>, <c>{answer_a}</c>, <c>{answer_b}</c>; null for <see cref="DefaultPromptTemplate"/>.</param>
    /// <exception cref="ArgumentException">The template lacks one of the placeholders.</exception>
    public LlmPreferenceJudge(ITextGenerator generator, GenerationOptions? sampling = null, string? promptTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _template = promptTemplate ?? DefaultPromptTemplate;
        foreach (var placeholder in new[] { "{question}", "{answer_a}", "{answer_b}" })
        {
            if (!_template.Contains(placeholder, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The judge prompt template has no {placeholder} placeholder.", nameof(promptTemplate));
            }
        }

        _generator = generator;
        _sampling = sampling ?? new GenerationOptions { Temperature = 0, MaxNewTokens = 64 };
    }

    /// <summary>The judge's prompt for one order of the responses.</summary>
    /// <param name="question">The pair.</param>
    /// <param name="swapped">Show B's response as answer A (the second order).</param>
    /// <returns>The prompt text.</returns>
    public string BuildPrompt(PreferenceQuestion question, bool swapped)
    {
        ArgumentNullException.ThrowIfNull(question);
        var request = AlmostTranscript.LastUserTurn(question.Prompt) ?? question.Prompt.Trim();
        var (first, second) = swapped ? (question.ResponseB, question.ResponseA) : (question.ResponseA, question.ResponseB);
        return _template.Replace("{question}", request, StringComparison.Ordinal)
            .Replace("{answer_a}", first.Trim(), StringComparison.Ordinal)
            .Replace("{answer_b}", second.Trim(), StringComparison.Ordinal);
    }

    /// <summary>Reads the first <c>[[A]]</c> / <c>[[B]]</c> / <c>[[C]]</c> of a judge's answer; null when there is none.</summary>
    /// <param name="answer">The judge's text.</param>
    /// <returns>The verdict in the order shown, or null.</returns>
    public static PreferredResponse? ParseVerdict(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var match = VerdictPattern().Match(answer);
        return !match.Success ? null : match.Groups[1].Value switch
        {
            "A" => PreferredResponse.A,
            "B" => PreferredResponse.B,
            _ => PreferredResponse.Tie,
        };
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PreferenceVerdict>> JudgeAsync(
        IReadOnlyList<PreferenceQuestion> questions,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(questions);
        var prompts = questions.SelectMany(q => new[] { BuildPrompt(q, swapped: false), BuildPrompt(q, swapped: true) }).ToArray();
        var answers = await _generator.GenerateAsync(prompts, _sampling with { SamplesPerPrompt = 1 }, null, cancellationToken)
            .ConfigureAwait(false);
        var verdicts = new PreferenceVerdict[questions.Count];
        for (int i = 0; i < questions.Count; i++)
        {
            var inOrder = ParseVerdict(answers[2 * i][0].Text);
            var swapped = ParseVerdict(answers[(2 * i) + 1][0].Text) switch
            {
                PreferredResponse.A => PreferredResponse.B,      // in the swapped prompt, "A" is response B
                PreferredResponse.B => PreferredResponse.A,
                var other => other,
            };
            verdicts[i] = inOrder is null || swapped is null
                ? new PreferenceVerdict(PreferredResponse.Tie, "the judge's verdict could not be read in one of the orders")
                : inOrder == swapped
                    ? new PreferenceVerdict(inOrder.Value, $"both orders: {inOrder}")
                    : new PreferenceVerdict(PreferredResponse.Tie, $"orders disagree ({inOrder} / {swapped}): position bias");
        }

        return verdicts;
    }

    [GeneratedRegex(@"\[\[([ABC])\]\]")]
    private static partial Regex VerdictPattern();
}
