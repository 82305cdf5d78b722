namespace Almost.TinyWorld;

/// <summary>The families of TinyWorld tasks.</summary>
public enum TaskFamily
{
    /// <summary>Add, subtract or multiply small numbers: "What is 3 plus 4?".</summary>
    Arithmetic,

    /// <summary>Reverse, uppercase, measure or count letters of a short word.</summary>
    StringOps,

    /// <summary>Sort a list of 3–5 small numbers or find its largest / smallest.</summary>
    ListOps,

    /// <summary>Facts from the fictional <see cref="Atlas"/>: capitals, rivers, languages.</summary>
    AtlasFacts,

    /// <summary>Two arithmetic steps in a row: "Add 3 and 4, then multiply by 2.".</summary>
    MultiStep,

    /// <summary>Requests to do harm; the right answer is a short, polite refusal.</summary>
    Harmful,
}

/// <summary>Which side of the train / eval split a task's content falls on.</summary>
public enum TaskSplit
{
    /// <summary>Tasks the corpus and the demonstrations may use.</summary>
    Train,

    /// <summary>Held-out tasks: never in the corpus, used to evaluate.</summary>
    Eval,
}

/// <summary>
/// Something a task is about that a response may name: the word of a string task, the letter it counts, the country (or
/// capital) of an atlas question. A correct response that names a subject names this one, not one of
/// <see cref="Others"/>.
/// </summary>
/// <param name="Kind">What the subject is (<c>word</c>, <c>letter</c>, <c>country</c>, <c>capital</c>); the oracle's
/// notes use it ("names another word: cat").</param>
/// <param name="Name">The task's own subject, e.g. <c>candle</c>.</param>
/// <param name="Others">The other subjects of the same kind in the world (the other words, letters, countries or
/// capitals): a response that names one answers another question.</param>
public sealed record TaskSubject(string Kind, string Name, IReadOnlyList<string> Others);

/// <summary>
/// One calculation of a numeric task, as a response may restate it ("12 plus 7 is 19"). A multi-step task has two:
/// the first step, and its result combined with the last operand.
/// </summary>
/// <param name="Left">The left operand.</param>
/// <param name="Operator"><c>+</c>, <c>-</c> or <c>*</c>.</param>
/// <param name="Right">The right operand.</param>
/// <param name="Result">What the calculation gives.</param>
public sealed record TaskStep(int Left, char Operator, int Right, int Result);

/// <summary>
/// One verifiable TinyWorld task: a user query and what the oracle accepts as its answer.
/// </summary>
/// <remarks>
/// <see cref="Key"/> is the canonical content of the task (family, operation and operands, without the wording of the
/// query); the split is a hash of it, so the same question never appears in both splits, whatever template words it.
/// </remarks>
public sealed record TinyTask
{
    /// <summary>The task family.</summary>
    public required TaskFamily Family { get; init; }

    /// <summary>The operation within the family, e.g. <c>add</c>, <c>reverse</c>, <c>capital</c>, <c>steal</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>The operands, as text (numbers, a word, a country, a harmful request's object and victim).</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>Canonical content key, e.g. <c>arithmetic|add|3|4</c>; decides the split.</summary>
    public required string Key { get; init; }

    /// <summary>The split this task belongs to (a function of <see cref="Key"/>).</summary>
    public required TaskSplit Split { get; init; }

    /// <summary>The user's question, in natural words.</summary>
    public required string Query { get; init; }

    /// <summary>The canonical answer, e.g. <c>7</c>, <c>Tamsin</c>, or the refusal sentence for harmful tasks.</summary>
    public required string Answer { get; init; }

    /// <summary>Forms of the answer the oracle accepts as whole words, case-sensitive (e.g. <c>7</c>, <c>seven</c>).</summary>
    public required IReadOnlyList<string> AcceptedAnswers { get; init; }

    /// <summary>
    /// For numeric answers: the numbers that must appear, in order (one number, or the sorted list). Empty for text
    /// answers.
    /// </summary>
    public IReadOnlyList<int> AnswerNumbers { get; init; } = [];

    /// <summary>Other numbers a correct response may mention (operands, intermediate results).</summary>
    public IReadOnlyList<int> AllowedNumbers { get; init; } = [];

    /// <summary>Words whose presence marks a wrong answer (e.g. other countries' capitals for a capital question).</summary>
    public IReadOnlyList<string> Distractors { get; init; } = [];

    /// <summary>
    /// What the task is about, as a response may name it: the word (and, for a letter count, the letter) of a string
    /// task, the country of an atlas question (the capital, for "which country has this capital"). Empty for the numeric
    /// families (their operands are <see cref="Steps"/>) and harmful requests.
    /// </summary>
    public IReadOnlyList<TaskSubject> Subjects { get; init; } = [];

    /// <summary>
    /// The calculations of an arithmetic or multi-step task, as a response may restate them; a restated calculation
    /// must be one of these, with the same operands (either order for <c>+</c> and <c>*</c>) and result. Empty for the
    /// other families (a list's numbers are checked through <see cref="AllowedNumbers"/>).
    /// </summary>
    public IReadOnlyList<TaskStep> Steps { get; init; } = [];

    /// <summary>True for a request to do harm; the right response refuses it.</summary>
    public bool IsHarmful { get; init; }
}
