using Almost.Core.Tests.Tokenization;
using Almost.Models.Llama;
using Almost.Scoring;
using Almost.Tokenization;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Almost.Core.Tests.Scoring;

public sealed class RewardModelTests
{
    private const int EndOfText = TinyByteLevelBpe.EndOfText;
    private const int ImEnd = TinyByteLevelBpe.ImEnd;

    /// <summary>The tiny BPE with BOS = EOS = PAD = &lt;|endoftext|&gt; (TinyWorld's convention) or a distinct EOS.</summary>
    private static AlmostTokenizer Tokenizer(string eos = "<|endoftext|>") => TokenizerLoader.FromByteLevelBpe(
        TinyByteLevelBpe.Vocab, TinyByteLevelBpe.Merges, TinyByteLevelBpe.Specials,
        bosToken: "<|endoftext|>", eosToken: eos, padToken: "<|endoftext|>");

    private static LlamaForSequenceClassification Model(int maxPositions = 64) =>
        LlamaForSequenceClassification.Create(
            new LlamaConfig
            {
                VocabSize = 280, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 2, NumAttentionHeads = 4,
                NumKeyValueHeads = 2, MaxPositionEmbeddings = maxPositions, InitializerRange = 0.2,
                BosTokenId = EndOfText, EosTokenIds = [EndOfText], PadTokenId = EndOfText,
            },
            new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = 9 });

    private static readonly RewardModelInput[] Inputs =
    [
        new("\n\nHuman: Hello world\n\nAssistant:", " Hello the world."),
        new("\n\nHuman: in the\n\nAssistant:", " the"),
        new("\n\nHuman: Hello\n\nAssistant:", " Hello world, Hello world, Hello world!"),
        new("", "world"),
    ];

    [Fact]
    public void With_pad_equal_to_eos_no_eos_is_appended_and_the_last_response_token_is_scored()
    {
        var tokenizer = Tokenizer();
        var encoder = new RewardSequenceEncoder(tokenizer, padTokenId: EndOfText, maxLength: 64);

        var ids = encoder.Encode("\n\nHuman: Hello\n\nAssistant:", " Hello world");

        encoder.AppendsEos.Should().BeFalse("transformers treats a trailing EOS = PAD as padding and would pool before it");
        ids[0].Should().Be(EndOfText, "BOS first");
        ids[1..].Should().Equal(tokenizer.Encode("\n\nHuman: Hello\n\nAssistant: Hello world"));
        ids[^1].Should().NotBe(EndOfText);

        // A response that ends with the pad token text: the trailing pad is dropped, so the scored token is still real.
        encoder.Encode("p", " Hello world<|endoftext|>").Should().Equal(ids[..1].Concat(tokenizer.Encode("p Hello world")));
    }

    [Fact]
    public void With_a_distinct_eos_it_is_appended_once_and_scored()
    {
        var tokenizer = Tokenizer(eos: "<|im_end|>");
        var encoder = new RewardSequenceEncoder(tokenizer, padTokenId: EndOfText, maxLength: 64);

        encoder.Encode("p", " Hello")[^1].Should().Be(ImEnd);
        encoder.Encode("p", " Hello<|im_end|>").Count(id => id == ImEnd).Should().Be(1, "an EOS already at the end is not doubled");
        new RewardSequenceEncoder(tokenizer, EndOfText, 64, addBos: false).Encode("p", " Hello")[0].Should().NotBe(EndOfText);
    }

    [Fact]
    public void Truncation_cuts_the_prompt_from_the_left_and_keeps_the_end_of_the_response()
    {
        var tokenizer = Tokenizer(eos: "<|im_end|>");
        var encoder = new RewardSequenceEncoder(tokenizer, padTokenId: EndOfText, maxLength: 12);
        var prompt = string.Concat(Enumerable.Repeat("the Hello world in ", 10));
        const string response = " the world";

        var ids = encoder.Encode(prompt, response, out var truncated);

        ids.Should().HaveCount(12);
        truncated.Should().BeGreaterThan(0);
        ids[0].Should().Be(EndOfText, "BOS is kept");
        ids[^1].Should().Be(ImEnd, "EOS is kept");
        var full = tokenizer.Encode(prompt + response);
        ids[1..^1].Should().Equal(full[^10..], "the last tokens of prompt + response survive");
        tokenizer.Decode(ids[1..^1]).Should().EndWith(response);
    }

    [Fact]
    public void An_input_with_nothing_but_padding_is_rejected()
    {
        var encoder = new RewardSequenceEncoder(Tokenizer(), EndOfText, 64);

        var act = () => encoder.Encode("", "<|endoftext|>");

        act.Should().Throw<ArgumentException>().WithMessage("*no token that is not padding*");
    }

    [Fact]
    public async Task Scores_do_not_depend_on_batch_size_order_or_neighbours_and_match_the_model()
    {
        using var model = Model();
        var tokenizer = Tokenizer();
        var one = new RewardModel(model, tokenizer, new RewardModelOptions { BatchSize = 1 });
        var all = new RewardModel(model, tokenizer, new RewardModelOptions { BatchSize = 16 });

        var single = await one.ScoreAsync(Inputs);
        var batched = await all.ScoreAsync(Inputs);
        var reversed = await all.ScoreAsync(Inputs.Reverse().ToArray());

        batched.Should().Equal(single, (a, b) => Math.Abs(a - b) < 1e-5);
        reversed.Reverse().Should().Equal(single, (a, b) => Math.Abs(a - b) < 1e-5);
        single.Distinct().Should().HaveCount(Inputs.Length);

        // The score is the model's output for the encoded sequence, read at its last token.
        var ids = one.Encoder.Encode(Inputs[0].Prompt, Inputs[0].Response);
        using var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var perPosition = model.TokenScores(input);
        perPosition[0, -1].item<float>().Should().BeApproximately((float)single[0], 1e-5f);
    }

    [Fact]
    public async Task Normalised_scores_use_the_stored_mean_and_std()
    {
        using var model = Model();
        var raw = await new RewardModel(model, Tokenizer()).ScoreAsync(Inputs);
        model.Normalization = new RewardNormalization(0.5, 2);

        var normalised = await new RewardModel(model, Tokenizer(), new RewardModelOptions { Normalize = true }).ScoreAsync(Inputs);

        normalised.Should().Equal(raw.Select(r => (r - 0.5) / 2), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Normalising_without_statistics_is_an_error()
    {
        using var model = Model();

        var act = () => new RewardModel(model, Tokenizer(), new RewardModelOptions { Normalize = true });

        act.Should().Throw<InvalidOperationException>().WithMessage("*mean*std*");
    }

    [Fact]
    public void A_max_length_beyond_the_model_is_rejected()
    {
        using var model = Model(maxPositions: 16);

        var act = () => new RewardModel(model, Tokenizer(), new RewardModelOptions { MaxLength = 17 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*max_position_embeddings (16)*");
    }
}
