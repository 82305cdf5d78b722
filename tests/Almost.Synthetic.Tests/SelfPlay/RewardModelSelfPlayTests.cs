using Almost.Core.Tests.Models;
using Almost.Core.Tests.Tokenization;
using Almost.Data;
using Almost.Devices;
using Almost.Generation;
using Almost.Models.Llama;
using Almost.Scoring;
using Almost.Synthetic.SelfPlay;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;

namespace Almost.Synthetic.Tests.SelfPlay;

public sealed class RewardModelSelfPlayTests
{
    /// <summary>
    /// Answers every prompt with "reply {k} to {query} s{seed}" (assistant) or "follow-up {turn}" (user); records calls.
    /// </summary>
    private sealed class ScriptedGenerator : ITextGenerator
    {
        public List<(IReadOnlyList<string> Prompts, GenerationOptions Options)> Calls { get; } = [];

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        {
            Calls.Add((prompts, options));
            var results = prompts.Select(p =>
            {
                var query = AlmostTranscript.LastUserTurn(p) ?? "?";
                var userTurn = p.EndsWith(AlmostTranscript.HumanPrefix, StringComparison.Ordinal);
                return (IReadOnlyList<GenerationResult>)Enumerable.Range(0, options.SamplesPerPrompt)
                    .Select(k => new GenerationResult(
                        userTurn ? $" follow-up {Turns(p)}" : $" reply {k} to {query} s{options.Seed % 1000}",
                        [], null, FinishReason.Stop))
                    .ToArray();
            }).ToArray();
            return Task.FromResult<IReadOnlyList<IReadOnlyList<GenerationResult>>>(results);
        }

        private static int Turns(string prompt) => prompt.Split(AlmostTranscript.AssistantPrefix).Length - 1;
    }

    /// <summary>Rewards candidate k of a turn with the score table's entry (k-th), and records every input.</summary>
    private sealed class TableRewardModel(params double[] byCandidate) : IRewardModel
    {
        public List<RewardModelInput> Inputs { get; } = [];

        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default)
        {
            Inputs.AddRange(inputs);
            return Task.FromResult<IReadOnlyList<double>>(inputs.Select(i => byCandidate[int.Parse(i.Response.Split(' ')[2])]).ToArray());
        }
    }

    private static GenerationOptions Sampling => new() { MaxNewTokens = 16, Temperature = 1.0 };

    [Fact]
    public async Task Each_assistant_turn_keeps_the_reward_models_best_candidate_and_records_every_score()
    {
        var generator = new ScriptedGenerator();
        var rm = new TableRewardModel(0.1, 0.9, -1, 0.5);
        var play = new RewardModelSelfPlay(
            new SelfPlayRole(generator, "USER-DEMOS", Sampling), new SelfPlayRole(generator, "ASSISTANT-DEMOS", Sampling), rm,
            new SelfPlayOptions { MaxTurns = 2, CandidatesPerTurn = 4, ChunkSize = 8 });

        var records = await play.PlayChunkAsync(0, ["0", "1"], ["What is 2 plus 3?", "Sort 3, 1, 2."]);

        records.Should().HaveCount(2);
        var first = records[0];
        first.Messages.Select(m => m.Role).Should().Equal("user", "assistant", "user", "assistant");
        first.Messages[1].Content.Should().StartWith("reply 1 to What is 2 plus 3?", "candidate 1 has the highest reward (0.9)");
        first.Messages[2].Content.Should().Be("follow-up 1");
        first.Turns.Should().HaveCount(2);
        first.Turns[0].ChosenIndex.Should().Be(1);
        first.Turns[0].ChosenScore.Should().Be(0.9);
        first.Turns[0].CandidateScores.Should().Equal(0.1, 0.9, -1, 0.5);
        first.Turns[0].Candidates.Should().HaveCount(4).And.OnlyContain(c => c.StartsWith("reply ", StringComparison.Ordinal));
        first.Turns[0].Candidates![1].Should().Be(first.Messages[1].Content, "the kept candidate is the one in the dialogue");
        first.Turns[0].Candidates![0].Should().StartWith("reply 0 to");

        // The assistant sees its demonstrations; the reward model sees the dialogue alone, in the transcript format.
        generator.Calls[0].Prompts[0].Should().Be("ASSISTANT-DEMOS" + AlmostTranscript.FormatPrompt("What is 2 plus 3?"));
        generator.Calls[0].Options.SamplesPerPrompt.Should().Be(4);
        generator.Calls[1].Prompts[0].Should().StartWith("USER-DEMOS").And.EndWith(AlmostTranscript.HumanPrefix);
        rm.Inputs[0].Prompt.Should().Be(AlmostTranscript.FormatPrompt("What is 2 plus 3?"));
        rm.Inputs[0].Response.Should().StartWith(" reply 0 to");
        rm.Inputs.Should().HaveCount(2 * 4 * 2, "2 dialogues × 4 candidates × 2 turns");
    }

    [Fact]
    public async Task With_one_candidate_selfplay_keeps_exactly_the_plain_sample_of_a_real_generator()
    {
        var tokenizer = TokenizerLoader.FromByteLevelBpe(TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials, eosToken: "<|endoftext|>");
        using var model = LlamaForCausalLM.Create(TinyConfigs.Llama(tied: true) with { VocabSize = 280, MaxPositionEmbeddings = 128 },
            new ModelOptions { Device = "cpu", Seed = 3 });
        var generator = new LocalGenerator(model, tokenizer);
        var rm = new ConstantRewardModel();
        var options = new SelfPlayOptions { MaxTurns = 1, CandidatesPerTurn = 1, Seed = 11 };
        var play = new RewardModelSelfPlay(new SelfPlayRole(generator, "", Sampling), new SelfPlayRole(generator, "", Sampling), rm, options);

        var records = await play.PlayChunkAsync(0, ["0", "1"], ["Hello world", "the world"]);

        var plain = await generator.GenerateAsync(
            [AlmostTranscript.FormatPrompt("Hello world"), AlmostTranscript.FormatPrompt("the world")],
            Sampling with { StopStrings = AlmostTranscript.StopStrings, Seed = Determinism.DeriveSeed(11, "rmsp-chunk0-turn0-assistant") });
        var expected = plain.Select(p => AlmostTranscript.CutReply(p[0].Text)).ToArray();
        records.Where(r => r.Turns.Count > 0).Select(r => r.Messages[1].Content)
            .Should().Equal(expected.Where(e => e.Length > 0));
    }

    private sealed class ConstantRewardModel : IRewardModel
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<RewardModelInput> inputs, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<double>>(inputs.Select(_ => 0.0).ToArray());
    }

    [Fact]
    public async Task A_resumed_run_writes_the_same_dialogues_as_an_uninterrupted_one_without_duplicates()
    {
        var dir = Path.Combine(Path.GetTempPath(), "almost-rmsp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var queries = Enumerable.Range(0, 7).Select(i => $"Question number {i}?").ToArray();
            RewardModelSelfPlay Play() => new(
                new SelfPlayRole(new ScriptedGenerator(), "", Sampling), new SelfPlayRole(new ScriptedGenerator(), "", Sampling),
                new TableRewardModel(0.3, 0.1), new SelfPlayOptions { CandidatesPerTurn = 2, ChunkSize = 3, Seed = 5 });
            var whole = Path.Combine(dir, "whole.jsonl");
            (await Play().RunAsync(queries, whole)).Should().Be(7);

            var resumed = Path.Combine(dir, "resumed.jsonl");
            using var cts = new CancellationTokenSource();
            var first = () => Play().RunAsync(queries, resumed, new SyncProgress(p => { if (p.CompletedDialogues >= 3) { cts.Cancel(); } }), cts.Token);
            await first.Should().ThrowAsync<OperationCanceledException>();
            File.AppendAllText(resumed, "{\"id\":\"3\",\"messa"); // a torn line from a crash
            (await Play().RunAsync(queries, resumed)).Should().Be(7);

            File.ReadAllText(resumed).Should().Be(File.ReadAllText(whole));
            var lines = (await JsonlReader.ReadAllAsync<SelfPlayRecord>(resumed)).Records;
            lines.Select(r => r.Id).Should().Equal("0", "1", "2", "3", "4", "5", "6");
            SelfPlayRecord.ToDemonstrations(lines).Should().HaveCount(7);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class SyncProgress(Action<SelfPlayProgress> onReport) : IProgress<SelfPlayProgress>
    {
        public void Report(SelfPlayProgress value) => onReport(value);
    }
}
