using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Rlhf.Sft;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Rlhf.Tests;

public class SftTrainerTests
{
    private static readonly AlmostTokenizer Tokenizer = TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");

    private static readonly ChatMessage[] Dialogue =
    [
        ChatMessage.User("Hello world"),
        ChatMessage.Assistant("the world."),
        ChatMessage.User("in the"),
        ChatMessage.Assistant("Hello!"),
    ];

    /// <summary>The decoded text of the tokens with (or without) loss, in order.</summary>
    private static (string Trained, string Context) Split(Almost.Rlhf.CausalLm.CausalLmExample example)
    {
        var trained = example.InputIds.Where((_, i) => example.LossMask![i]).ToArray();
        var context = example.InputIds.Where((_, i) => !example.LossMask![i]).ToArray();
        return (Tokenizer.Decode(trained), Tokenizer.Decode(context));
    }

    [Fact]
    public void Transcript_mask_covers_exactly_the_assistant_tokens_the_turn_ending_Human_prefix_and_the_final_eos()
    {
        var example = new SftTokenizer(Tokenizer).Encode(Dialogue);

        Tokenizer.Decode(example.InputIds).Should().Be(AlmostTranscript.Format(Dialogue, false) + "<|endoftext|>");
        var (trained, context) = Split(example);
        trained.Should().Be(" the world." + "\n\nHuman:" + " Hello!" + "<|endoftext|>");
        context.Should().Be("\n\nHuman: Hello world" + "\n\nAssistant:" + " in the" + "\n\nAssistant:");

        // Token by token: every trained token decodes inside an assistant reply, its end marker or EOS.
        var position = 0;
        var text = Tokenizer.Decode(example.InputIds);
        var assistantSpans = new[] { " the world.\n\nHuman:", " Hello!<|endoftext|>" }
            .Select(s => (Start: text.IndexOf(s, StringComparison.Ordinal), s.Length)).ToArray();
        for (var t = 0; t < example.InputIds.Length; t++)
        {
            var piece = Tokenizer.Decode([example.InputIds[t]]);
            var inside = assistantSpans.Any(s => position >= s.Start && position + piece.Length <= s.Start + s.Length);
            example.LossMask![t].Should().Be(inside, $"token {t} ('{piece}') at character {position}");
            position += piece.Length;
        }
    }

    [Fact]
    public void ChatML_mask_covers_the_reply_and_its_end_token()
    {
        var example = new SftTokenizer(Tokenizer, ChatMLTemplate.Instance).Encode(Dialogue);

        var (trained, _) = Split(example);
        trained.Should().Be("the world.<|im_end|>\n" + "Hello!<|im_end|>\n" + "<|endoftext|>");
        example.InputIds.Should().Contain(TinyByteLevelBpe.ImEnd);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RenderLastTurn_cuts_the_final_assistant_turn_where_Encode_masks_it(bool chatMl)
    {
        IChatTemplate template = chatMl ? ChatMLTemplate.Instance : TranscriptChatTemplate.Instance;
        var single = new[] { ChatMessage.User("in the"), ChatMessage.Assistant("Hello!") };

        var (prompt, completion) = SftTokenizer.RenderLastTurn(Dialogue, template);
        var (trained, context) = Split(new SftTokenizer(Tokenizer, template).Encode(single));

        prompt.Should().Be(template.Format(Dialogue[..^1], addGenerationPrompt: true));
        (prompt + completion).Should().Be(template.Format(Dialogue, addGenerationPrompt: false));
        var (singlePrompt, singleCompletion) = SftTokenizer.RenderLastTurn(single, template);
        (singlePrompt, singleCompletion + "<|endoftext|>").Should().Be((context, trained), "the same cut SFT trains");
        var notAssistant = () => SftTokenizer.RenderLastTurn(Dialogue[..^1], template);
        notAssistant.Should().Throw<ArgumentException>().WithMessage("*does not end with an assistant turn*");
    }

    [Fact]
    public void Prompt_completion_records_train_the_completion_and_eos_only()
    {
        var example = new SftTokenizer(Tokenizer).Encode(new PromptCompletionRecord { Prompt = AlmostTranscript.FormatPrompt("Hello"), Completion = " the world." });
        var (trained, context) = Split(example);
        trained.Should().Be(" the world.<|endoftext|>");
        context.Should().Be("\n\nHuman: Hello\n\nAssistant:");
    }

    [Fact]
    public async Task Training_lowers_the_assistant_token_loss_and_packing_keeps_masks()
    {
        var model = TinyModels.Create(TinyModels.Config(maxPositions: 64) with { VocabSize = 280 });
        var records = Enumerable.Range(0, 12).Select(i => new ConversationRecord
        {
            Messages = [ChatMessage.User(i % 2 == 0 ? "Hello" : "the world"), ChatMessage.Assistant(i % 2 == 0 ? "Hello world." : "in the world.")],
        }).ToList();
        using var dir = new TempFolder();
        var trainer = new SftTrainer(model, Tokenizer, records, new SftTrainingOptions
        {
            OutputDir = dir.Path, LearningRate = 1e-2, PerDeviceBatchSize = 4, MaxSteps = 25, LoggingSteps = 1, SaveSteps = 0, WarmupSteps = 2,
        });

        await trainer.TrainAsync();

        var losses = Metrics.Read(dir.Path).Select(r => r.Loss).ToList();
        losses.TakeLast(3).Average().Should().BeLessThan(losses.Take(3).Average() * 0.5);

        var examples = records.Select(r => new SftTokenizer(Tokenizer).Encode(r)).ToList();
        var packed = SftTrainer.Pack(examples, blockSize: 16);
        packed.Should().OnlyContain(b => b.InputIds.Length == 16);
        packed.SelectMany(b => b.LossMask!).Should().Equal(examples.SelectMany(e => e.LossMask!).Take(packed.Count * 16));
    }

    [Fact]
    public void A_conversation_without_an_assistant_turn_is_an_error_naming_the_record()
    {
        var model = TinyModels.Create(TinyModels.Config() with { VocabSize = 280 });
        var act = () => new SftTrainer(model, Tokenizer,
            [new ConversationRecord { Messages = [ChatMessage.User("Hello"), ChatMessage.Assistant("Hi.")] }, new ConversationRecord { Messages = [ChatMessage.User("Hello")] }],
            new SftTrainingOptions { OutputDir = "unused" });
        act.Should().Throw<ArgumentException>().WithMessage("Record 1 of the training data*no assistant turn*");
    }

    [Fact]
    public void Text_records_train_every_token_and_eos()
    {
        var example = new SftTokenizer(Tokenizer).Encode(new TextRecord { Text = "Hello world in the world." });

        example.LossMask.Should().OnlyContain(trained => trained);
        Tokenizer.Decode(example.InputIds).Should().Be("Hello world in the world.<|endoftext|>");
        FluentActions.Invoking(() => new SftTokenizer(Tokenizer).Encode(new TextRecord { Text = "" })).Should().Throw<ArgumentException>().WithMessage("*empty*");
    }

    private static List<ConversationRecord> Dialogues(int count) => Enumerable.Range(0, count).Select(i => new ConversationRecord
    {
        Messages = [ChatMessage.User(i % 2 == 0 ? "Hello" : "the world"), ChatMessage.Assistant(i % 3 == 0 ? "Hello world." : "in the world, in the world.")],
    }).ToList();

    private static readonly TextRecord[] Documents =
    [
        new() { Text = "the world in the world in the world. Hello world in the world." },
        new() { Text = "Hello the world. in the Hello world." },
        new() { Text = "world world Hello in the the world in." },
    ];

    [Fact]
    public void Replay_documents_follow_the_demonstrations_in_blocks_as_long_as_the_longest_demonstration_every_token_trained()
    {
        var model = TinyModels.Create(TinyModels.Config(maxPositions: 64) with { VocabSize = 280 });
        var records = Dialogues(6);
        var sft = new SftTokenizer(Tokenizer);
        var demos = records.Select(sft.Encode).ToList();
        var replayIds = Documents.Select(sft.Encode).SelectMany(e => e.InputIds).ToList();
        int longest = demos.Max(e => e.InputIds.Length);

        var trainer = new SftTrainer(model, Tokenizer, records, new SftTrainingOptions { OutputDir = "unused" }, replayDocuments: Documents);

        trainer.ReplayBlockCount.Should().Be((replayIds.Count + longest - 1) / longest);
        trainer.TrainDataset.Count.Should().Be(demos.Count + trainer.ReplayBlockCount);
        trainer.TrainDataset.Take(demos.Count).Select(e => e.InputIds).Should().BeEquivalentTo(demos.Select(e => e.InputIds), o => o.WithStrictOrdering());
        var blocks = trainer.TrainDataset.Skip(demos.Count).ToList();
        blocks.Should().OnlyContain(b => b.InputIds.Length <= longest && b.LossMask!.All(t => t));
        blocks.SkipLast(1).Should().OnlyContain(b => b.InputIds.Length == longest);
        blocks.SelectMany(b => b.InputIds).Should().Equal(replayIds);

        new SftTrainer(model, Tokenizer, records, new SftTrainingOptions { OutputDir = "unused" }).ReplayBlockCount.Should().Be(0);
    }

    [Fact]
    public async Task Replay_keeps_the_replayed_text_likelier_than_sft_alone()
    {
        var documentIds = Documents.Select(d => new SftTokenizer(Tokenizer).Encode(d)).ToList();
        async Task<double> ReplayLoss(IEnumerable<TextRecord>? replay)
        {
            var model = TinyModels.Create(TinyModels.Config(maxPositions: 64) with { VocabSize = 280 });
            using var dir = new TempFolder();
            await new SftTrainer(model, Tokenizer, Dialogues(8), new SftTrainingOptions
            {
                OutputDir = dir.Path, LearningRate = 1e-2, PerDeviceBatchSize = 4, MaxSteps = 30, SaveSteps = 0, WarmupSteps = 2, Seed = 3,
            }, replayDocuments: replay).TrainAsync();
            model.eval();
            using var noGrad = TorchSharp.torch.no_grad();
            return documentIds.Average(e =>
            {
                using var ids = TorchSharp.torch.tensor(Array.ConvertAll(e.InputIds, id => (long)id)).unsqueeze(0);
                using var logProbs = model.TokenLogProbs(ids);
                return -logProbs.mean().item<float>();
            });
        }

        double without = await ReplayLoss(null), with = await ReplayLoss(Documents);

        with.Should().BeLessThan(without * 0.8, $"replay trains on the documents (loss {with:F3} with replay vs {without:F3} without)");
    }

    [Fact]
    public void An_empty_replay_document_is_an_error_naming_the_record()
    {
        var model = TinyModels.Create(TinyModels.Config() with { VocabSize = 280 });
        var act = () => new SftTrainer(model, Tokenizer, Dialogues(2), new SftTrainingOptions { OutputDir = "unused" },
            replayDocuments: [new TextRecord { Text = "Hello." }, new TextRecord { Text = "" }]);
        act.Should().Throw<ArgumentException>().WithMessage("Record 1 of the replay data*empty*");
    }
}
