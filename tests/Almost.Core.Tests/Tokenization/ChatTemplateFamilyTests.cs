using Almost.Data;
using System.Text.Json;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Tokenization;

/// <summary>
/// tokenizer_config.json's chat_template is recognised for the common families, renders what the Jinja template
/// renders, and a template whose special tokens the vocabulary lacks fails at load instead of becoming plain text.
/// </summary>
public sealed class ChatTemplateFamilyTests : IDisposable
{
    // The chat_template strings of Llama-2-chat, Mistral-7B-Instruct-v0.1 and zephyr-7b-beta.
    private const string Llama2Template =
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
    private const string MistralTemplate =
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
    private const string ZephyrTemplate =
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    private static readonly ChatMessage[] s_dialogue =
    [
        ChatMessage.System("Be brief."),
        ChatMessage.User(" What is 2+2? "),
        ChatMessage.Assistant("4."),
        ChatMessage.User("Thanks!"),
    ];

    private readonly string _folder = TinyByteLevelBpe.NewTempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Qwen3_config_gives_chatml_and_its_markup_encodes_to_single_ids()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(Path.Combine(RealTokenizerParity.Fixtures, "qwen3"));

        tokenizer.ChatTemplate.Should().BeSameAs(ChatMLTemplate.Instance);
        int[] ids = tokenizer.Encode(tokenizer.ChatTemplate!.Format([ChatMessage.User("Hi")], addGenerationPrompt: true));
        ids.Count(id => id == 151644).Should().Be(2);
        ids.Count(id => id == 151645).Should().Be(1);
    }

    [Llama3FilesFact]
    public void Llama3_config_gives_the_llama3_format()
    {
        AlmostTokenizer tokenizer = AlmostTokenizer.FromFolder(RealTokenizerParity.Llama3Folder);

        tokenizer.ChatTemplate.Should().BeSameAs(Llama3ChatTemplate.Instance);
        string text = tokenizer.ChatTemplate!.Format([ChatMessage.User(" Hi ")], addGenerationPrompt: true);
        text.Should().Be("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        tokenizer.Encode(text).Should().StartWith([128000, 128006]).And.EndWith([128007, 271]);
    }

    [Fact]
    public void Llama2_mistral_and_zephyr_templates_render_as_their_jinja_does()
    {
        WriteMistralWithTemplate(Llama2Template);
        AlmostTokenizer llama2 = AlmostTokenizer.FromFolder(_folder);
        WriteMistralWithTemplate(MistralTemplate);
        AlmostTokenizer mistral = AlmostTokenizer.FromFolder(_folder);
        WriteMistralWithTemplate(ZephyrTemplate);
        AlmostTokenizer zephyr = AlmostTokenizer.FromFolder(_folder);

        llama2.ChatTemplate.Should().Be(new InstChatTemplate("<s>", "</s>", Llama2SystemBlock: true));
        llama2.ChatTemplate!.Format(s_dialogue, addGenerationPrompt: true).Should().Be(
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n What is 2+2? [/INST] 4. </s><s>[INST] Thanks! [/INST]");
        mistral.ChatTemplate.Should().Be(new InstChatTemplate("<s>", "</s>"));
        mistral.ChatTemplate!.Format(s_dialogue[1..], addGenerationPrompt: true).Should().Be(
            "<s>[INST]  What is 2+2?  [/INST]4.</s>[INST] Thanks! [/INST]");
        zephyr.ChatTemplate.Should().Be(new ZephyrChatTemplate("</s>"));
        zephyr.ChatTemplate!.Format(s_dialogue[1..3], addGenerationPrompt: true).Should().Be(
            "<|user|>\n What is 2+2? </s>\n<|assistant|>\n4.</s>\n<|assistant|>\n");
        int[] ids = mistral.Encode(mistral.ChatTemplate.Format(s_dialogue[1..3], false));
        ids.Should().StartWith([1]).And.EndWith([2]);
    }

    [Fact]
    public void Inst_template_rejects_turns_that_do_not_alternate()
    {
        Action twoUsers = () => new InstChatTemplate().Format([ChatMessage.User("a"), ChatMessage.User("b")], false);

        twoUsers.Should().Throw<ArgumentException>().WithMessage("*messages[1]*'user'*'assistant' was expected*");
    }

    [Fact]
    public void Template_whose_special_tokens_are_missing_fails_at_load_naming_them()
    {
        string gpt2 = Path.Combine(RealTokenizerParity.Fixtures, "gpt2");
        File.Copy(Path.Combine(gpt2, "tokenizer.json"), Path.Combine(_folder, "tokenizer.json"));
        File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"),
            JsonSerializer.Serialize(new { chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" }));

        Action load = () => AlmostTokenizer.FromFolder(_folder);

        load.Should().Throw<TokenizerLoadException>()
            .WithMessage("*tokenizer_config.json*'chat_template'*'<|im_start|>', '<|im_end|>'*plain text*");
        AlmostTokenizer plain = AlmostTokenizer.FromFolder(gpt2);
        plain.ChatTemplate.Should().BeNull();
        plain.Invoking(t => t.RequireChatTemplateTokens(ChatMLTemplate.Instance)).Should().Throw<ArgumentException>();
        plain.Invoking(t => t.RequireChatTemplateTokens(TranscriptChatTemplate.Instance)).Should().NotThrow();
    }

    [Fact]
    public void Unknown_template_family_gives_no_template()
    {
        ChatTemplateFamily.Recognise("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}", "<s>", "</s>").Should().BeNull();
    }

    private void WriteMistralWithTemplate(string template)
    {
        string mistral = Path.Combine(RealTokenizerParity.Fixtures, "mistral");
        File.Copy(Path.Combine(mistral, "tokenizer.json"), Path.Combine(_folder, "tokenizer.json"), overwrite: true);
        var config = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(mistral, "tokenizer_config.json")))!;
        var written = config.ToDictionary(p => p.Key, p => (object)p.Value);
        written["chat_template"] = template;
        File.WriteAllText(Path.Combine(_folder, "tokenizer_config.json"), JsonSerializer.Serialize(written));
    }
}
