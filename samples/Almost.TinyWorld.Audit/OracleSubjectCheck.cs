using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Almost.TinyWorld;

// The oracle's subject check: a correct answer is about the task's own subject (its word, letter, country or capital,
// its operands), not another question's whose answer happens to coincide.
public sealed partial class Oracle
{
    private static readonly ConcurrentDictionary<string, Regex> LetterPatterns = new(StringComparer.Ordinal);

    // A response that names a subject of the task's kind must name the task's own: "The word cat has 6 letters" is
    // about another question than "candle", even though 6 is right for candle.
    private static bool NamesOwnSubjects(TinyTask task, string text, List<string> notes)
    {
        foreach (var subject in task.Subjects)
        {
            string? other = subject.Others.FirstOrDefault(o => Names(text, o));
            if (other is not null)
            {
                notes.Add($"names another {subject.Kind}: {other}");
                return false;
            }
        }
        return true;
    }

    // Words and names as whole words, case-insensitive. A single letter counts as named only as "letter x" or in
    // quotes: "a" and "i" are also words.
    private static bool Names(string text, string name) =>
        name.Length == 1
            ? LetterPatterns.GetOrAdd(name, letter => new Regex(
                $@"(?:\bletter\s+[""'\u201C\u2018]?{Regex.Escape(letter)}|[""'\u201C\u2018]{Regex.Escape(letter)}[""'\u201D\u2019])(?![\p{{L}}\p{{N}}])",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)).IsMatch(text)
            : WholeWord(name, ignoreCase: true).IsMatch(text);

    // Every calculation the response restates ("3 plus 4 is 7", "and times 2 that is 14", "the sum of 3 and 4") must be
    // one of the task's steps: same operator, same operands (either order for + and *), and the same result if it
    // gives one. "2 times 2 is 4" for 2 + 2 has only allowed numbers and the right answer, but another calculation.
    private static bool RestatesOwnSteps(TinyTask task, string text, List<string> notes)
    {
        if (task.Steps.Count == 0)
        {
            return true;
        }
        foreach (Match m in CalculationPattern().Matches(text))
        {
            char op = m.Groups["sum"].Success ? '+' : m.Groups["product"].Success ? '*' : m.Groups["difference"].Success ? '-'
                : Operator(m.Groups["op"].Value);
            int right = ParseNumber(m.Groups["r"].Value);
            int? left = m.Groups["l"].Success ? ParseNumber(m.Groups["l"].Value) : null;
            int? result = m.Groups["res"].Success ? ParseNumber(m.Groups["res"].Value) : null;
            var same = task.Steps.Where(s => s.Operator == op && Operands(s, left, right)).ToList();
            if (same.Count == 0)
            {
                notes.Add($"names another calculation: {m.Value.Trim()}");
                return false;
            }
            if (result is int r && same.All(s => s.Result != r))
            {
                notes.Add($"gives a wrong result: {m.Value.Trim()}");
                return false;
            }
        }
        return true;

        // A dangling "and times 2" continues from the previous result, so its number is the step's right operand.
        static bool Operands(TaskStep step, int? left, int right) =>
            left is int l
                ? (step.Left == l && step.Right == right) || (step.Operator != '-' && step.Left == right && step.Right == l)
                : step.Right == right;
    }

    // The start of every operand of a restated calculation ("4" and "2" in "4 minus 2 is 2").
    private static HashSet<int> OperandPositions(TinyTask task, string text) =>
        task.Steps.Count == 0
            ? []
            : CalculationPattern().Matches(text).SelectMany(m => new[] { m.Groups["l"], m.Groups["r"] })
                .Where(g => g.Success).Select(g => g.Index).ToHashSet();

    private static char Operator(string word) => word.ToLowerInvariant() switch
    {
        "plus" or "+" => '+',
        "minus" or "-" or "\u2212" => '-',
        _ => '*',
    };

    // A restated calculation: "L op R", a dangling "op R" ("and times 2"), or "the sum / product of L and R",
    // "add L and R", "multiply L by R", "subtract R from L", "take R away from L"; then optionally its result
    // ("is 7", "= 7", "that is 14").
    [GeneratedRegex(@"(?:(?:(?<sum>\bsum\s+of|\badd)|(?<product>\bproduct\s+of|\bmultiply))\s+(?<l>\d+)\s+(?:and|by)\s+(?<r>\d+)" +
        @"|(?<difference>\bsubtract|\btake)\s+(?<r>\d+)\s+(?:away\s+)?from\s+(?<l>\d+)" +
        @"|(?:(?<l>\d+)\s*)?(?<op>\bplus\b|\bminus\b|\btimes\b|\bmultiplied\s+by\b|[+\-\u2212*\u00D7])\s*(?<r>\d+))" +
        @"(?:\s*(?:=|\b(?:is|equals|makes|gives|that\s+is|which\s+is)\b)\s*(?<res>\d+))?",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CalculationPattern();
}
