using Almost.Models.Llama;
using static TorchSharp.torch;

namespace Almost.Benchmarks;

/// <summary>
/// The kill -9 check of docs/reliability.md (eng/kill-test.sh): <c>--save-loop DIR</c> saves two different models
/// into DIR, alternately and forever, until it is killed; <c>--check DIR</c> then loads DIR and says which of the two
/// it holds, exiting non-zero if it loads as neither (new weights with an old config, say), does not load, or
/// the next save leaves a temporary behind.
/// </summary>
internal static class KillSafety
{
    private static LlamaConfig Config(int layers) => new()
    {
        VocabSize = 4096, HiddenSize = 256, IntermediateSize = 512, NumHiddenLayers = layers, NumAttentionHeads = 4,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
    };

    private static LlamaForCausalLM Model(int which) =>
        LlamaForCausalLM.Create(Config(2 + which), new ModelOptions { Device = "cpu", DType = ScalarType.Float32, Seed = which });

    public static void SaveLoop(string folder)
    {
        using var a = Model(0);
        using var b = Model(1);
        for (long i = 0; ; i++)
        {
            // Sharded every other time, so a kill also lands between shard, index and config renames.
            (i % 2 == 0 ? a : b).SavePretrained(folder, maxShardBytes: i % 4 < 2 ? long.MaxValue : 2_000_000);
            Console.WriteLine($"saved {i}");
        }
    }

    public static int Check(string folder)
    {
        using var loaded = LlamaForCausalLM.FromPretrained(folder, new ModelOptions { Device = "cpu", DType = ScalarType.Float32 });
        var which = loaded.Config.NumHiddenLayers - 2;
        using var expected = Model(which);
        using var ids = tensor(new long[] { 1, 2, 3, 4 }).reshape(1, 4);
        using var noGrad = no_grad();
        using var got = loaded.Logits(ids);
        using var want = expected.Logits(ids);
        var same = got.allclose(want, rtol: 0, atol: 0);
        // A load leaves young temporaries alone (a save might still be writing them); the next save removes them all.
        var afterLoad = Directory.GetFiles(folder, "*.tmp").Length;
        loaded.SavePretrained(folder);
        var afterSave = Directory.GetFiles(folder, ".*").Length;
        Console.WriteLine($"{(same ? "ok" : "MISMATCH")}: model {(char)('A' + which)}; {afterLoad} temporaries after the load, {afterSave} after the next save");
        return same && afterSave == 0 ? 0 : 1;
    }
}
