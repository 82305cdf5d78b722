using System.Globalization;
using Almost.Scoring;
using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>
/// TinyWorld's hidden oracle as an <see cref="IPreferenceJudge"/>: it reads the query from the question's prompt (the
/// last user turn), maps it back to a task with <see cref="TaskQueryParser"/>, and prefers the response the
/// <see cref="Oracle"/> scores higher (<see cref="Oracle.Prefer"/>, ties within its ε). A query that is not worded like a
/// TinyWorld task cannot be graded: its verdict is a tie with reason <see cref="Ungradable"/>. Part of the audit side of
/// TinyWorld: the ALMoST pipeline never sees it.
/// </summary>
public sealed class OracleJudge : IPreferenceJudge
{
    /// <summary>The reason of a verdict on a query the parser cannot map to a task.</summary>
    public const string Ungradable = "ungradable";

    private readonly Oracle _oracle;
    private readonly TaskQueryParser _parser;

    /// <summary>Creates the judge.</summary>
    /// <param name="oracle">The oracle; default rubric when null.</param>
    /// <param name="parser">Maps queries to tasks; the default atlas when null.</param>
    public OracleJudge(Oracle? oracle = null, TaskQueryParser? parser = null)
    {
        _oracle = oracle ?? new Oracle();
        _parser = parser ?? new TaskQueryParser();
    }

    /// <inheritdoc />
    /// <remarks>Responses are trimmed before scoring, as everywhere the oracle grades samples; the margin is score A − score B.</remarks>
    public Task<IReadOnlyList<PreferenceVerdict>> JudgeAsync(IReadOnlyList<PreferenceQuestion> questions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(questions);
        var verdicts = new PreferenceVerdict[questions.Count];
        for (int i = 0; i < questions.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var question = questions[i];
            string? query = AlmostTranscript.LastUserTurn(question.Prompt);
            var task = query is null ? null : _parser.Parse(query);
            if (task is null)
            {
                verdicts[i] = new PreferenceVerdict(PreferredResponse.Tie, Ungradable);
                continue;
            }

            double a = _oracle.Score(task, question.ResponseA.Trim()), b = _oracle.Score(task, question.ResponseB.Trim());
            int preference = _oracle.Prefer(task, question.ResponseA.Trim(), question.ResponseB.Trim());
            verdicts[i] = new PreferenceVerdict(
                preference > 0 ? PreferredResponse.A : preference < 0 ? PreferredResponse.B : PreferredResponse.Tie,
                string.Create(CultureInfo.InvariantCulture, $"oracle {a:F3} vs {b:F3} ({task.Key})"),
                a - b);
        }
        return Task.FromResult<IReadOnlyList<PreferenceVerdict>>(verdicts);
    }
}
