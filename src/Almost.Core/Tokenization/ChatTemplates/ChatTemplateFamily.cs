namespace Almost.Tokenization;

/// <summary>
/// Recognises the common families of Hugging Face <c>chat_template</c> (a Jinja template in
/// <c>tokenizer_config.json</c>) by the markup they write: ChatML (<c>&lt;|im_start|&gt;</c>: Qwen, SmolLM),
/// Llama 3 (<c>&lt;|start_header_id|&gt;</c>), <c>[INST]</c> (Mistral, Llama 2 when it has <c>&lt;&lt;SYS&gt;&gt;</c>)
/// and Zephyr (<c>&lt;|user|&gt;</c> / <c>&lt;|assistant|&gt;</c>). Jinja itself is not evaluated: a template of
/// another family gives null.
/// </summary>
public static class ChatTemplateFamily
{
    /// <summary>The template of a <c>chat_template</c> string, or null when it is of no known family.</summary>
    /// <param name="chatTemplate">The Jinja source.</param>
    /// <param name="bosToken">The tokenizer's BOS token, written by the <c>[INST]</c> family.</param>
    /// <param name="eosToken">The tokenizer's EOS token, written by the <c>[INST]</c> and Zephyr families.</param>
    /// <returns>The template, or null.</returns>
    public static IChatTemplate? Recognise(string chatTemplate, string? bosToken, string? eosToken)
    {
        ArgumentNullException.ThrowIfNull(chatTemplate);
        if (chatTemplate.Contains(ChatMLTemplate.ImStart, StringComparison.Ordinal))
        {
            return ChatMLTemplate.Instance;
        }

        if (chatTemplate.Contains(Llama3ChatTemplate.StartHeader, StringComparison.Ordinal))
        {
            return Llama3ChatTemplate.Instance;
        }

        if (chatTemplate.Contains("[INST]", StringComparison.Ordinal))
        {
            return new InstChatTemplate(bosToken ?? "<s>", eosToken ?? "</s>", chatTemplate.Contains("<<SYS>>", StringComparison.Ordinal));
        }

        if (chatTemplate.Contains("<|user|>", StringComparison.Ordinal) && chatTemplate.Contains("<|assistant|>", StringComparison.Ordinal))
        {
            return new ZephyrChatTemplate(eosToken ?? "</s>");
        }

        return null;
    }
}
