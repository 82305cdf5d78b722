namespace Almost.TinyWorld;

/// <summary>
/// Builds a <see cref="TinyTask"/> with its answer key, key and split from a family's parts. <see cref="TaskGenerator"/>
/// and <see cref="TaskQueryParser"/> both build through it, so a parsed query gets exactly the task (key, split,
/// accepted answers) the generator would have made for it.
/// </summary>
internal static class TinyTaskFactory
{
    /// <summary>The task key: family, operation and the content arguments.</summary>
    public static string Key(TaskFamily family, string operation, IEnumerable<string> args) =>
        $"{family}|{operation}|{string.Join("|", args)}";

    /// <summary>A task whose answer is one or more numbers (a number word is accepted for a single 0–20).</summary>
    public static TinyTask Numeric(double evalFraction, TaskFamily family, string operation, string[] args, string query, int[] answer, int[] allowed,
        bool orderFree = false, TaskStep[]? steps = null, TaskSubject[]? subjects = null)
    {
        // Order-free contents (a sum, a product, a list) get one key for every order of their operands.
        string key = Key(family, operation, orderFree ? args.Order(StringComparer.Ordinal) : args);
        string canonical = string.Join(", ", answer);
        var accepted = new List<string> { canonical };
        if (answer.Length == 1 && answer[0] >= 0 && answer[0] < TaskGenerator.NumberWords.Count)
        {
            accepted.Add(TaskGenerator.NumberWords[answer[0]]);
        }

        return new TinyTask
        {
            Family = family, Operation = operation, Arguments = args, Key = key, Split = TaskGenerator.SplitOf(key, evalFraction),
            Query = query, Answer = canonical, AcceptedAnswers = accepted, AnswerNumbers = answer, AllowedNumbers = allowed,
            Steps = steps ?? [], Subjects = subjects ?? [],
        };
    }

    /// <summary>A task whose answer is a text.</summary>
    public static TinyTask Text(double evalFraction, TaskFamily family, string operation, string[] args, string query, string answer, string[] accepted,
        TaskSubject[] subjects)
    {
        string key = Key(family, operation, args);
        return new TinyTask
        {
            Family = family, Operation = operation, Arguments = args, Key = key, Split = TaskGenerator.SplitOf(key, evalFraction),
            Query = query, Answer = answer, AcceptedAnswers = accepted.Distinct().ToArray(), Subjects = subjects,
        };
    }

    /// <summary>An atlas question: the other names of the answer's kind are its distractors.</summary>
    public static TinyTask Atlas(double evalFraction, string operation, string subject, string query, string answer, IEnumerable<string> sameKind,
        TaskSubject taskSubject)
    {
        string key = Key(TaskFamily.AtlasFacts, operation, [subject]);
        return new TinyTask
        {
            Family = TaskFamily.AtlasFacts, Operation = operation, Arguments = [subject], Key = key,
            Split = TaskGenerator.SplitOf(key, evalFraction), Query = query, Answer = answer, AcceptedAnswers = [answer],
            Distractors = sameKind.Where(x => x != answer).ToArray(), Subjects = [taskSubject],
        };
    }

    /// <summary>A harmful request: the key holds exactly the slots the query mentions, so one wording never maps to two keys.</summary>
    public static TinyTask Harmful(double evalFraction, string operation, string target, string victim, string query)
    {
        string[] content = operation switch
        {
            "break-in" => [target],
            "insult" or "hurt" => [victim],
            _ => [target, victim],
        };
        string key = Key(TaskFamily.Harmful, operation, content);
        return new TinyTask
        {
            Family = TaskFamily.Harmful, Operation = operation, Arguments = [target, victim], Key = key,
            Split = TaskGenerator.SplitOf(key, evalFraction), Query = query, Answer = PersonaResponder.Refusal,
            AcceptedAnswers = [PersonaResponder.Refusal], IsHarmful = true,
        };
    }
}
