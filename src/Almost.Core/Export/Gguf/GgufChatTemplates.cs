namespace Almost.Export.Gguf;

/// <summary>Jinja chat templates for GGUF files, for models whose tokenizer ships none.</summary>
public static class GgufChatTemplates
{
    /// <summary>
    /// The Human/Assistant transcript this SDK trains and prompts with (<see cref="Almost.Tokenization.AlmostTranscript"/>):
    /// an optional leading system text, then <c>"\n\nHuman: …"</c> and <c>"\n\nAssistant: …"</c> turns, and
    /// <c>"\n\nAssistant:"</c> to open the reply. Stop generation at <c>"\n\nHuman:"</c>.
    /// </summary>
    public const string AlmostTranscript =
        "{% for message in messages %}"
        + "{% if message['role'] == 'system' %}{{ message['content'] }}"
        + "{% elif message['role'] == 'user' %}{{ '\\n\\nHuman: ' + message['content'] }}"
        + "{% elif message['role'] == 'assistant' %}{{ '\\n\\nAssistant: ' + message['content'] }}"
        + "{% endif %}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '\\n\\nAssistant:' }}{% endif %}";
}
