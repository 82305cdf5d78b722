using System.Text.Json;
using System.Text.Json.Serialization;
using Almost.IO;
using Almost.Models.Llama;

namespace Almost.TinyWorld.Zoo;

/// <summary>One size of the vanilla zoo: its LLaMA shape and its pretraining hyper-parameters.</summary>
public sealed record ZooModelSize
{
    /// <summary>Folder name under the zoo (<c>tiny</c>, <c>small</c>, <c>base</c>).</summary>
    public required string Name { get; init; }

    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int Layers { get; init; }

    /// <summary><c>num_attention_heads</c>.</summary>
    public required int Heads { get; init; }

    /// <summary><c>num_key_value_heads</c> (grouped-query attention).</summary>
    public required int KeyValueHeads { get; init; }

    /// <summary><c>intermediate_size</c> of the SwiGLU MLP.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Peak learning rate (AdamW, warm-up then cosine decay to 10%).</summary>
    public required double LearningRate { get; init; }

    /// <summary>The model's config for a vocabulary and context length; id 0 (<c>&lt;|endoftext|&gt;</c>) is BOS, EOS and PAD.</summary>
    public LlamaConfig ToConfig(int vocabSize, int maxPositionEmbeddings = 512) => new()
    {
        VocabSize = vocabSize,
        HiddenSize = HiddenSize,
        IntermediateSize = IntermediateSize,
        NumHiddenLayers = Layers,
        NumAttentionHeads = Heads,
        NumKeyValueHeads = KeyValueHeads,
        MaxPositionEmbeddings = maxPositionEmbeddings,
        TieWordEmbeddings = false,
        BosTokenId = 0,
        EosTokenIds = [0],
        PadTokenId = 0,
    };

    /// <summary>The three sizes of the zoo, smallest first.</summary>
    public static IReadOnlyList<ZooModelSize> Standard { get; } =
    [
        new() { Name = "tiny", HiddenSize = 48, Layers = 3, Heads = 4, KeyValueHeads = 2, IntermediateSize = 128, LearningRate = 3e-3 },
        new() { Name = "small", HiddenSize = 128, Layers = 8, Heads = 4, KeyValueHeads = 2, IntermediateSize = 352, LearningRate = 2e-3 },
        new() { Name = "base", HiddenSize = 256, Layers = 6, Heads = 8, KeyValueHeads = 4, IntermediateSize = 688, LearningRate = 1.5e-3 },
    ];
}

/// <summary>What <c>zoo.json</c> records about one pretrained model.</summary>
public sealed record ZooModelEntry
{
    /// <summary>The size (and folder name).</summary>
    public required ZooModelSize Size { get; init; }

    /// <summary>Parameters, embeddings and output projection included.</summary>
    public required long Parameters { get; init; }

    /// <summary>Training tokens seen (each position of each block counts once).</summary>
    public required long TokensSeen { get; init; }

    /// <summary>Optimizer steps.</summary>
    public required int Steps { get; init; }

    /// <summary>Sequences per optimizer step.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Wall time of training (seconds), evaluation excluded.</summary>
    public required double TrainSeconds { get; init; }

    /// <summary>Training tokens per second.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Model seed (initial weights; the data order has its own seed in the manifest).</summary>
    public required long Seed { get; init; }

    /// <summary>Mean next-token loss (nats) of the final model on the whole held-out corpus.</summary>
    public required double EvalLoss { get; init; }

    /// <summary>Mean next-token loss on the first <see cref="ZooCorpusOptions.CheckSequences"/> held-out blocks (tests re-measure it).</summary>
    public required double CheckLoss { get; init; }

    /// <summary>Training loss of the last logging interval (the trainer's <c>TrainingResult.TrainingLoss</c>; 50 steps).</summary>
    public required double FinalTrainLoss { get; init; }

    /// <summary>dtype of the saved weights.</summary>
    public required string DType { get; init; }
}

/// <summary>The zoo's manifest, <c>zoo.json</c>: corpus and tokenizer settings, and one entry per model.</summary>
public sealed record ZooManifest
{
    /// <summary>The manifest's file name inside the zoo folder.</summary>
    public const string FileName = "zoo.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The corpus and tokenizer settings.</summary>
    public required ZooCorpusOptions Corpus { get; init; }

    /// <summary>Training tokens (blocks × block size) every model saw once per epoch.</summary>
    public required long TrainTokens { get; init; }

    /// <summary>Held-out tokens the eval loss is measured on.</summary>
    public required long EvalTokens { get; init; }

    /// <summary>Epochs over the training blocks.</summary>
    public required int Epochs { get; init; }

    /// <summary>Seed of the (shared) shuffled block order.</summary>
    public required int DataSeed { get; init; }

    /// <summary><c>max_position_embeddings</c> of every model.</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary>The command that reproduces the zoo.</summary>
    public required string Command { get; init; }

    /// <summary>The models, smallest first.</summary>
    public required IReadOnlyList<ZooModelEntry> Models { get; init; }

    /// <summary>Reads <c>zoo.json</c> from a zoo folder.</summary>
    public static ZooManifest Load(string zooFolder)
    {
        string path = Path.Combine(zooFolder, FileName);
        return JsonSerializer.Deserialize<ZooManifest>(File.ReadAllText(path), JsonOptions)
               ?? throw new InvalidDataException($"{path}: expected a JSON object.");
    }

    /// <summary>Writes <c>zoo.json</c> into a zoo folder (to a temporary file renamed into place).</summary>
    public void Save(string zooFolder)
    {
        Directory.CreateDirectory(zooFolder);
        AtomicFile.WriteAllText(Path.Combine(zooFolder, FileName), JsonSerializer.Serialize(this, JsonOptions) + "\n");
    }
}
