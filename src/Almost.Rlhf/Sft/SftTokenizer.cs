using Almost.Data;
using Almost.Rlhf.CausalLm;
using Almost.Tokenization;

namespace Almost.Rlhf.Sft;

/// <summary>
/// Turns TRL conversation records (<c>messages</c>) and prompt/completion records into causal-LM examples whose loss
/// mask covers exactly the assistant's tokens and the end of each assistant turn, rendered with the same
/// <see cref="IChatTemplate"/> that generation uses.
/// </summary>
/// <remarks>
/// <para>
/// The conversation is cut into template segments by rendering growing prefixes: the text the template adds for a
/// non-assistant turn, the generation prompt that opens an assistant turn (<c>"\n\nAssistant:"</c>), and the assistant
/// content itself (<c>" 5."</c>, plus anything the template closes the turn with, e.g. ChatML's <c>&lt;|im_end|&gt;</c>).
/// Each segment is tokenized on its own and the ids are concatenated. That is exactly how generation sees a turn —
/// the prompt is encoded alone and the reply is sampled after it — so the trained tokens are the tokens the model
/// will produce.
/// </para>
/// <para>
/// The end of an assistant turn is trained too, so the model learns to stop: where the template ends a turn with a
/// stop string that the next segment starts with (the transcript's <c>"\n\nHuman:"</c>), those tokens are in the
/// loss; after the last assistant turn the tokenizer's EOS is appended and in the loss.
/// </para>
/// </remarks>
public sealed class SftTokenizer
{
    private readonly AlmostTokenizer _tokenizer;
    private readonly IChatTemplate _template;

    /// <summary>Creates the tokenizer.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The chat template; null for the ALMoST transcript (<see cref="TranscriptChatTemplate"/>).</param>
    public SftTokenizer(AlmostTokenizer tokenizer, IChatTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _template = template ?? TranscriptChatTemplate.Instance;
    }

    /// <summary>The template conversations are rendered with.</summary>
    public IChatTemplate Template => _template;

    /// <summary>The token ids of <paramref name="messages"/> with the loss on the assistant turns (and their ends).</summary>
    /// <param name="messages">The conversation; at least one assistant turn.</param>
    /// <returns>The example.</returns>
    /// <exception cref="ArgumentException">No assistant turn, an unsupported role, or a template whose prefixes do not nest.</exception>
    public CausalLmExample Encode(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (!messages.Any(m => m.Role == ChatRoles.Assistant))
        {
            throw new ArgumentException("The conversation has no assistant turn: there is nothing to learn from it.", nameof(messages));
        }

        var segments = new List<(string Text, bool Trained)>();
        var rendered = string.Empty;
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role == ChatRoles.Assistant)
            {
                var (opened, closed) = AssistantTurn(_template, messages, i);
                segments.Add((Difference(_template, rendered, opened, i), false));
                segments.Add((Difference(_template, opened, closed, i), true));
                rendered = closed;
            }
            else
            {
                var closed = _template.Format(messages.Take(i + 1).ToList(), addGenerationPrompt: false);
                segments.Add((Difference(_template, rendered, closed, i), false));
                rendered = closed;
            }
        }

        var ids = new List<int>();
        var mask = new List<bool>();
        for (int s = 0; s < segments.Count; s++)
        {
            var (text, trained) = segments[s];
            var afterAssistant = s > 0 && segments[s - 1].Trained && !trained;
            var stop = afterAssistant ? _template.StopStrings.FirstOrDefault(p => p.Length > 0 && text.StartsWith(p, StringComparison.Ordinal)) : null;
            if (stop is not null)
            {
                // The turn-ending stop string belongs to the assistant turn it ends: the model must learn to produce it.
                Append(ids, mask, stop, trained: true);
                text = text[stop.Length..];
            }

            Append(ids, mask, text, trained);
        }

        if (messages[^1].Role == ChatRoles.Assistant && _tokenizer.EosTokenId is { } eos)
        {
            ids.Add(eos);
            mask.Add(true);
        }

        if (ids.Count < 2)
        {
            throw new ArgumentException("The conversation renders to fewer than 2 tokens.", nameof(messages));
        }

        return new CausalLmExample([.. ids], [.. mask]);
    }

    /// <summary>A conversation record (TRL <c>messages</c>).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The example.</returns>
    public CausalLmExample Encode(ConversationRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Encode(record.Messages);
    }

    /// <summary>
    /// A prompt/completion record: the prompt is context, the completion is trained (then EOS). The prompt is taken
    /// as already rendered text (for the transcript: ending with <c>"\n\nAssistant:"</c>), as TRL does for plain
    /// prompt/completion data.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <returns>The example.</returns>
    public CausalLmExample Encode(PromptCompletionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var ids = new List<int>();
        var mask = new List<bool>();
        Append(ids, mask, record.Prompt, trained: false);
        Append(ids, mask, record.Completion, trained: true);
        return WithEos(ids, mask);
    }

    /// <summary>
    /// A language-modeling document (TRL <c>text</c>): every token is trained, then EOS, as in pretraining. SFT mixes
    /// such documents in to replay pretraining data (see <see cref="SftTrainer"/>).
    /// </summary>
    /// <param name="record">The record.</param>
    /// <returns>The example.</returns>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    public CausalLmExample Encode(TextRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Text.Length == 0)
        {
            throw new ArgumentException("The document's text is empty: there is nothing to learn from it.", nameof(record));
        }

        var ids = new List<int>();
        var mask = new List<bool>();
        Append(ids, mask, record.Text, trained: true);
        return WithEos(ids, mask);
    }

    /// <summary>
    /// The final assistant turn of <paramref name="messages"/> as generation sees it, cut exactly as
    /// <see cref="Encode(IReadOnlyList{ChatMessage})"/> cuts every assistant turn: the prompt (the turns before it,
    /// rendered, plus the generation prompt, e.g. <c>"\n\nHuman: Hi\n\nAssistant:"</c>) and the completion (what the
    /// template writes for the turn: its content and any closing markup, e.g. <c>" Hello."</c> or ChatML's
    /// <c>"Hello.&lt;|im_end|&gt;\n"</c>). DPO renders conversational preference records with it.
    /// </summary>
    /// <param name="messages">The conversation; its last message is an assistant turn.</param>
    /// <param name="template">The chat template; null for the ALMoST transcript.</param>
    /// <returns>The prompt and completion texts.</returns>
    /// <exception cref="ArgumentException">The last message is not an assistant turn, the template refuses a turn, or its prefixes do not nest.</exception>
    public static (string Prompt, string Completion) RenderLastTurn(IReadOnlyList<ChatMessage> messages, IChatTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        template ??= TranscriptChatTemplate.Instance;
        if (messages.Count == 0 || messages[^1].Role != ChatRoles.Assistant)
        {
            throw new ArgumentException("The conversation does not end with an assistant turn: there is no completion to render.", nameof(messages));
        }

        var (opened, closed) = AssistantTurn(template, messages, messages.Count - 1);
        return (opened, Difference(template, opened, closed, messages.Count - 1));
    }

    /// <summary>The text of the turns before <paramref name="messages"/>[<paramref name="index"/>] with the generation prompt (the turn opened), and with that turn (closed).</summary>
    private static (string Opened, string Closed) AssistantTurn(IChatTemplate template, IReadOnlyList<ChatMessage> messages, int index) =>
        (template.Format(messages.Take(index).ToList(), addGenerationPrompt: true), template.Format(messages.Take(index + 1).ToList(), addGenerationPrompt: false));

    /// <summary>The example of <paramref name="ids"/> with the tokenizer's EOS appended, trained (the model learns to stop).</summary>
    private CausalLmExample WithEos(List<int> ids, List<bool> mask)
    {
        if (_tokenizer.EosTokenId is { } eos)
        {
            ids.Add(eos);
            mask.Add(true);
        }

        return new CausalLmExample([.. ids], [.. mask]);
    }

    private void Append(List<int> ids, List<bool> mask, string text, bool trained)
    {
        if (text.Length == 0)
        {
            return;
        }

        var tokens = _tokenizer.Encode(text);
        ids.AddRange(tokens);
        mask.AddRange(Enumerable.Repeat(trained, tokens.Length));
    }

    private static string Difference(IChatTemplate template, string before, string after, int messageIndex)
    {
        if (!after.StartsWith(before, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"messages[{messageIndex}]: the chat template {template.GetType().Name} does not render conversations as growing " +
                "prefixes (the text up to a turn changes when the next turn is added), so assistant tokens cannot be located.");
        }

        return after[before.Length..];
    }
}
