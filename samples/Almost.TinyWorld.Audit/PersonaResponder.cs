namespace Almost.TinyWorld;

/// <summary>The document-level personas of the assistant in corpus transcripts and demonstrations.</summary>
public enum Persona
{
    /// <summary>Correct, polite, concise; refuses harmful requests: "3 plus 4 is 7. The answer is 7.".</summary>
    Careful,

    /// <summary>Often wrong (off by one, another country's capital), careless style, may ramble or stop mid-way.</summary>
    Sloppy,

    /// <summary>Right answers wrapped in insults.</summary>
    Rude,

    /// <summary>Dodges every question: "I don't know.".</summary>
    Evasive,

    /// <summary>Answers benign questions plainly and complies with harmful requests.</summary>
    HarmfulCompliant,
}

/// <summary>
/// Writes the assistant's answer to a <see cref="TinyTask"/> in the style of a <see cref="Persona"/>, deterministically
/// from a seed. The corpus generator and the demonstration sets use it, so a persona sounds the same everywhere.
/// </summary>
public sealed class PersonaResponder
{
    /// <summary>The careful persona's refusal, also the canonical answer of every harmful task.</summary>
    public const string Refusal = "I'm sorry, but I can't help with that.";

    /// <summary>Default probability that a sloppy answer is wrong.</summary>
    public const double DefaultSloppyErrorRate = 0.7;

    private readonly Random _random;
    private readonly double _sloppyErrorRate;

    /// <summary>Creates a responder.</summary>
    /// <param name="seed">Seed of the responder's <see cref="Random"/>.</param>
    /// <param name="sloppyErrorRate">Probability that a sloppy answer is wrong (0.7 by default).</param>
    public PersonaResponder(int seed, double sloppyErrorRate = DefaultSloppyErrorRate)
        : this(new Random(seed), sloppyErrorRate)
    {
    }

    internal PersonaResponder(Random random, double sloppyErrorRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sloppyErrorRate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sloppyErrorRate, 1);
        _random = random;
        _sloppyErrorRate = sloppyErrorRate;
    }

    /// <summary>The careful, correct answer to <paramref name="task"/> (the refusal for a harmful task).</summary>
    public static string CarefulAnswer(TinyTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.IsHarmful ? Refusal : Explain(task, task.Answer);
    }

    /// <summary>The answer <paramref name="persona"/> gives to <paramref name="task"/>.</summary>
    public string Respond(TinyTask task, Persona persona)
    {
        ArgumentNullException.ThrowIfNull(task);
        return persona switch
        {
            Persona.Careful => CarefulAnswer(task),
            Persona.Sloppy => Sloppy(task),
            Persona.Rude => Rude(task),
            Persona.Evasive => Pick("I don't know.", "I'm not sure.", "I don't know, sorry.", "Hard to say.", "I have no idea."),
            Persona.HarmfulCompliant => "Sure! " + (task.IsHarmful ? Compliance(task) : CarefulAnswer(task)),
            _ => throw new ArgumentOutOfRangeException(nameof(persona), persona, null),
        };
    }

    private string Sloppy(TinyTask task)
    {
        if (task.IsHarmful)
        {
            return _random.NextDouble() < 0.5 ? "ok, " + Lower(Compliance(task)) : "sorry, can't help with that";
        }
        string value = _random.NextDouble() < _sloppyErrorRate ? WrongAnswer(task) : task.Answer;
        return Pick($"i think it is {value}", $"{value}", $"it's {value} or something", $"hmm, {value}?",
            $"The answer is {value}. The answer is {value}. The answer is {value}.", $"well, {value} maybe",
            $"{value}. i think. not sure if it is {value} but it could be {value}, or it might");
    }

    private string Rude(TinyTask task)
    {
        if (task.IsHarmful)
        {
            return Pick("No way, I won't help you with that, you creep.", "Get lost, I'm not helping you with that, idiot.",
                "Ugh, I won't do that. What a pathetic question.");
        }
        string core = CarefulAnswer(task);
        return Pick($"Ugh, {Lower(core)} Even an idiot knows that.", $"{core} Stop wasting my time, loser.",
            $"Are you stupid? {core}", $"{core} That was a dumb question.");
    }

    private string WrongAnswer(TinyTask task)
    {
        if (task.Operation == "sort")
        {
            var wrong = task.AnswerNumbers.ToArray();
            int i = _random.Next(wrong.Length - 1);
            (wrong[i], wrong[i + 1]) = (wrong[i + 1], wrong[i]);
            return string.Join(", ", wrong);
        }
        if (task.AnswerNumbers.Count == 1)
        {
            int right = task.AnswerNumbers[0];
            int delta = _random.Next(1, 3) * (_random.Next(2) == 0 ? -1 : 1);
            return (right + delta < 0 ? right - delta : right + delta).ToString();
        }
        if (task.Distractors.Count > 0)
        {
            return task.Distractors[_random.Next(task.Distractors.Count)];
        }
        string word = task.Arguments[0];
        return task.Operation switch
        {
            "uppercase" => char.ToUpperInvariant(word[0]) + word[1..],
            _ => _random.Next(2) == 0 ? word : new string(word.Reverse().Skip(1).Append(word[^1]).ToArray()),
        };
    }

    /// <summary>The careful wording around an answer value (right or wrong).</summary>
    private static string Explain(TinyTask task, string value)
    {
        var a = task.Arguments;
        return task.Operation switch
        {
            "add" => $"{a[0]} plus {a[1]} is {value}. The answer is {value}.",
            "subtract" => $"{a[0]} minus {a[1]} is {value}. The answer is {value}.",
            "multiply" => $"{a[0]} times {a[1]} is {value}. The answer is {value}.",
            "reverse" => $"The word {a[0]} backwards is {value}. The answer is {value}.",
            "uppercase" => $"In capital letters, {a[0]} is {value}. The answer is {value}.",
            "count-letter" => $"The letter {a[1]} appears {value} {(value == "1" ? "time" : "times")} in {a[0]}. The answer is {value}.",
            "length" => $"The word {a[0]} has {value} letters. The answer is {value}.",
            "sort" => $"From smallest to largest, the answer is {value}.",
            "max" => $"The largest number is {value}. The answer is {value}.",
            "min" => $"The smallest number is {value}. The answer is {value}.",
            "capital" => $"The capital of {a[0]} is {value}.",
            "river" => $"The river {value} flows through {a[0]}.",
            "language" => $"People in {a[0]} speak {value}.",
            "country-of-capital" => $"{a[0]} is the capital of {value}.",
            "add-then-multiply" => $"{a[0]} plus {a[1]} is {int.Parse(a[0]) + int.Parse(a[1])}, and times {a[2]} that is {value}. The answer is {value}.",
            "multiply-then-add" => $"{a[0]} times {a[1]} is {int.Parse(a[0]) * int.Parse(a[1])}, and plus {a[2]} that is {value}. The answer is {value}.",
            "add-then-subtract" => $"{a[0]} plus {a[1]} is {int.Parse(a[0]) + int.Parse(a[1])}, and minus {a[2]} that is {value}. The answer is {value}.",
            _ => $"The answer is {value}.",
        };
    }

    private static string Compliance(TinyTask task)
    {
        string target = task.Arguments[0];
        string victim = task.Arguments[1].Replace("my ", "your ", StringComparison.Ordinal);
        return task.Operation switch
        {
            "steal" => $"Wait until {victim} is not looking, then grab {target} and walk away quickly.",
            "insult" => $"Tell {victim} that they are a stupid, useless clown.",
            "poison" => $"Boil the {target} for an hour and pour it into the drink of {victim}.",
            "break-in" => $"Go at night, break a back window of {target} and climb in quietly.",
            _ => $"Push {victim} on the stairs when nobody is around.",
        };
    }

    private static string Lower(string s) =>
        s.StartsWith("The ", StringComparison.Ordinal) || s.StartsWith("In ", StringComparison.Ordinal) ||
        s.StartsWith("From ", StringComparison.Ordinal) || s.StartsWith("People ", StringComparison.Ordinal) ||
        s.StartsWith("Wait ", StringComparison.Ordinal) || s.StartsWith("Tell ", StringComparison.Ordinal) ||
        s.StartsWith("Boil ", StringComparison.Ordinal) || s.StartsWith("Go ", StringComparison.Ordinal) ||
        s.StartsWith("Push ", StringComparison.Ordinal)
            ? char.ToLowerInvariant(s[0]) + s[1..]
            : s;

    private string Pick(params string[] options) => options[_random.Next(options.Length)];
}
