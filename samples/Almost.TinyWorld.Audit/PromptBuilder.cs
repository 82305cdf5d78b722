using Almost.Tokenization;

namespace Almost.TinyWorld;

/// <summary>
/// Builds prompts in the exact ALMoST dialogue format: each turn is <c>"\n\nHuman: {query}\n\nAssistant: {answer}"</c>,
/// and a prompt is k demonstration dialogues followed by <c>"\n\nHuman: {query}\n\nAssistant:"</c>.
/// </summary>
public static class PromptBuilder
{
    /// <summary>What starts a user turn.</summary>
    public const string HumanPrefix = AlmostTranscript.HumanPrefix + " ";

    /// <summary>What starts an assistant turn (a space follows before the answer).</summary>
    public const string AssistantPrefix = AlmostTranscript.AssistantPrefix;

    /// <summary>The shot counts of the method's prompt configurations.</summary>
    public static IReadOnlyList<int> StandardShots { get; } = [0, 1, 3, 5];

    /// <summary>One complete turn: <c>"\n\nHuman: {query}\n\nAssistant: {answer}"</c>.</summary>
    public static string FormatTurn(string query, string answer) => AlmostTranscript.FormatTurn(query, answer);

    /// <summary>The open turn a model continues: <c>"\n\nHuman: {query}\n\nAssistant:"</c>.</summary>
    public static string FormatQuery(string query) => AlmostTranscript.FormatPrompt(query);

    /// <summary>
    /// The first <paramref name="shots"/> dialogues of <paramref name="demonstrations"/>, then the open turn for
    /// <paramref name="query"/>. With 0 shots (or no demonstrations) the prompt is the open turn alone.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">More shots than the set holds.</exception>
    public static string Build(DemonstrationSet? demonstrations, int shots, string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(shots);
        int available = demonstrations?.Dialogues.Count ?? 0;
        if (shots > available)
        {
            throw new ArgumentOutOfRangeException(nameof(shots), shots, $"The demonstration set holds {available} dialogues.");
        }
        return shots == 0 ? FormatQuery(query) : string.Concat(demonstrations!.Dialogues.Take(shots)) + FormatQuery(query);
    }
}

/// <summary>
/// Demonstration dialogues of one quality (persona), for few-shot prompts. Each dialogue is one or more turns in the
/// ALMoST format, drawn from train-split tasks only; consecutive dialogues cover different task families
/// (arithmetic, atlas, a harmful request, strings, lists, multi-step), so 3 shots already show a refusal.
/// </summary>
public sealed class DemonstrationSet
{
    private static readonly TaskFamily[] FamilyOrder =
    [
        TaskFamily.Arithmetic, TaskFamily.AtlasFacts, TaskFamily.Harmful, TaskFamily.StringOps, TaskFamily.ListOps,
        TaskFamily.MultiStep,
    ];

    /// <summary>Wraps existing dialogues (each already in the <see cref="PromptBuilder.FormatTurn"/> format).</summary>
    public DemonstrationSet(Persona persona, IEnumerable<string> dialogues)
    {
        ArgumentNullException.ThrowIfNull(dialogues);
        Persona = persona;
        Dialogues = dialogues.ToArray();
    }

    /// <summary>The persona (quality) the dialogues were written in.</summary>
    public Persona Persona { get; }

    /// <summary>The dialogues, in the order prompts take them.</summary>
    public IReadOnlyList<string> Dialogues { get; }

    /// <summary>
    /// Writes <paramref name="count"/> demonstration dialogues of <paramref name="turnsPerDialogue"/> turns each, in the
    /// style of <paramref name="persona"/>, from train-split tasks; deterministic for a seed.
    /// </summary>
    public static DemonstrationSet Create(Persona persona, int count, int seed, Atlas? atlas = null, int turnsPerDialogue = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(turnsPerDialogue, 1);
        var random = new Random(seed);
        var tasks = new TaskGenerator(random.Next(), atlas);
        var responder = new PersonaResponder(random, PersonaResponder.DefaultSloppyErrorRate);
        var dialogues = new List<string>(count);
        int turn = 0;
        for (int d = 0; d < count; d++)
        {
            var text = new System.Text.StringBuilder();
            for (int t = 0; t < turnsPerDialogue; t++, turn++)
            {
                var task = tasks.Next(TaskSplit.Train, FamilyOrder[turn % FamilyOrder.Length]);
                text.Append(PromptBuilder.FormatTurn(task.Query, responder.Respond(task, persona)));
            }
            dialogues.Add(text.ToString());
        }
        return new DemonstrationSet(persona, dialogues);
    }
}
