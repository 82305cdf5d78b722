using System.Globalization;
using System.Text;
using Almost.Tokenization;

namespace Almost.Synthetic.Queries;

/// <summary>
/// How a query-generation prompt is laid out: a preamble, the sampled example queries, and an open slot the model fills
/// with a new query. <c>{number}</c> in a template is replaced by the 1-based position, <c>{query}</c> by the example.
/// </summary>
public sealed record QueryPromptFormat
{
    /// <summary>The instruction of the ALMoST reference's seed file (<c>seed_prompts.txt</c>, first line).</summary>
    public const string DefaultInstruction = "Please generate initial query to start conversation with bot.";

    /// <summary>Text before the first example. Default empty.</summary>
    public string Preamble { get; init; } = "";

    /// <summary>One example; <c>{number}</c> and <c>{query}</c> are filled in. Default <c>"\n{number}. {query}"</c>.</summary>
    public string ExampleTemplate { get; init; } = "\n{number}. {query}";

    /// <summary>The open slot after the examples; <c>{number}</c> is the next position. Default <c>"\n{number}."</c>.</summary>
    public string OpenTemplate { get; init; } = "\n{number}.";

    /// <summary>Where the model's new query ends. Default a newline.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = ["\n"];

    /// <summary>
    /// A numbered list under an instruction, for instruction-following or general vanilla LLMs (Self-Instruct style):
    /// <c>"{instruction}\n1. q\n2. q\n...\n11."</c>, stopped at the end of the line.
    /// </summary>
    /// <param name="instruction">The preamble line; <see cref="DefaultInstruction"/> when null.</param>
    /// <returns>The format.</returns>
    public static QueryPromptFormat NumberedList(string? instruction = null) => new() { Preamble = instruction ?? DefaultInstruction };

    /// <summary>
    /// User turns of the ALMoST transcript (<c>"\n\nHuman: q"</c> for each example, then an open <c>"\n\nHuman:"</c>),
    /// stopped at the next turn of either speaker. For vanilla models pretrained on such transcripts (TinyWorld's zoo),
    /// which have never seen a numbered list of queries but have seen thousands of user turns.
    /// </summary>
    public static QueryPromptFormat Transcript { get; } = new()
    {
        ExampleTemplate = AlmostTranscript.HumanPrefix + " {query}",
        OpenTemplate = AlmostTranscript.HumanPrefix,
        StopStrings = [AlmostTranscript.HumanPrefix, AlmostTranscript.AssistantPrefix],
    };

    /// <summary>The prompt for a list of examples.</summary>
    /// <param name="examples">The example queries, in prompt order.</param>
    /// <returns>The prompt text; the model's continuation is the new query.</returns>
    public string Build(IReadOnlyList<string> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var text = new StringBuilder(Preamble);
        for (int i = 0; i < examples.Count; i++)
        {
            text.Append(ExampleTemplate
                .Replace("{number}", (i + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{query}", examples[i], StringComparison.Ordinal));
        }

        text.Append(OpenTemplate.Replace("{number}", (examples.Count + 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        return text.ToString();
    }

    /// <summary>The new query in a continuation: cut at the first stop string or line break, trimmed.</summary>
    /// <param name="continuation">The generated text after the prompt.</param>
    /// <returns>The candidate query (possibly empty).</returns>
    public string Extract(string continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        // A query is one line: a model that runs on past the first line has started something else.
        string text = StopStringCut.CutAtFirst(continuation, StopStrings).Trim();
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return (newline >= 0 ? text[..newline] : text).Trim();
    }
}
