using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Almost.IO;
using TorchSharp;
using Module = TorchSharp.torch.nn.Module;
using Tensor = TorchSharp.torch.Tensor;

namespace Almost.Checkpoints;

/// <summary>
/// Loads and saves model weights in the Hugging Face layout: <c>model.safetensors</c>, or shards
/// <c>model-00001-of-0000N.safetensors</c> listed in <c>model.safetensors.index.json</c>. Works on any module whose
/// <c>state_dict()</c> keys are the HF parameter names (e.g. <c>model.layers.0.self_attn.q_proj.weight</c>) and on
/// plain state dicts. Model classes wrap it (<c>FromPretrained</c> / <c>SavePretrained</c>) and add <c>config.json</c>.
/// </summary>
/// <remarks>Pickle checkpoints (<c>pytorch_model.bin</c>, <c>*.pt</c>) are never loaded: unpickling can run arbitrary code.</remarks>
public static partial class HfCheckpoint
{
    /// <summary>The single-file weights name, <c>model.safetensors</c>.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The shard index name, <c>model.safetensors.index.json</c>.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const int MaxNamesInMessage = 20;

    /// <summary>
    /// Reads every tensor of the checkpoint in <paramref name="folder"/> onto the CPU, in the dtype stored on disk.
    /// <c>model.safetensors</c> wins when both it and an index exist (as in <c>transformers</c>).
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <returns>The state dict; the caller owns (and disposes) the tensors.</returns>
    /// <exception cref="CheckpointException">The folder or weights are missing, only pickle files are present, or a file is corrupt.</exception>
    public static Dictionary<string, Tensor> LoadStateDict(string folder)
    {
        var layout = Resolve(folder);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (header, tensors) in layout.Files)
            {
                using var stream = SafetensorsFile.OpenRead(header.Path);
                foreach (var info in tensors)
                {
                    result.Add(info.Name, SafetensorsFile.ReadTensor(stream, header, info));
                }
            }
        }
        catch
        {
            foreach (var tensor in result.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
        return result;
    }

    /// <summary>
    /// Copies the checkpoint in <paramref name="folder"/> into <paramref name="module"/>'s parameters and persistent
    /// buffers, one tensor at a time. Each value is converted to the dtype and device of the tensor it replaces, so the
    /// module keeps its dtype and device (an fp32 or bf16 file loads into an fp32, bf16 or fp16 model alike).
    /// </summary>
    /// <remarks>All headers are checked against the module before any tensor is copied: if anything is missing,
    /// unexpected or of the wrong shape, one <see cref="CheckpointException"/> lists every problem and the module is
    /// left untouched.</remarks>
    /// <param name="module">The module to fill; its <c>state_dict()</c> keys must be the HF names.</param>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="options">Keys that may be missing or unexpected; null allows none.</param>
    /// <exception cref="CheckpointException">The checkpoint cannot be read or does not match the module.</exception>
    public static void LoadInto(Module module, string folder, CheckpointLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var layout = Resolve(folder);
        var targets = module.state_dict();
        var shapes = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        var dtypes = new Dictionary<string, torch.ScalarType>(StringComparer.Ordinal);
        foreach (var (_, tensors) in layout.Files)
        {
            foreach (var info in tensors)
            {
                shapes[info.Name] = info.Shape;
                dtypes[info.Name] = info.ScalarType;
            }
        }
        options ??= new CheckpointLoadOptions();
        Validate(targets, shapes, layout.Description, options);
        RefuseIntegerIntoFloat(targets, dtypes, layout.Description, options);

        using var noGrad = torch.no_grad();
        foreach (var (header, tensors) in layout.Files)
        {
            using var stream = SafetensorsFile.OpenRead(header.Path);
            foreach (var info in tensors)
            {
                if (!targets.TryGetValue(info.Name, out var target))
                {
                    continue; // an ignored unexpected key
                }
                using var scope = torch.NewDisposeScope();
                var value = SafetensorsFile.ReadTensor(stream, header, info);
                target.copy_(value);
            }
        }
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> into <paramref name="module"/> with the same checks and dtype/device handling
    /// as <see cref="LoadInto"/>.
    /// </summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="stateDict">Tensors by HF name, any dtype and device; not disposed.</param>
    /// <param name="sourceDescription">Where the tensors came from, for error messages (e.g. a path).</param>
    /// <param name="options">Keys that may be missing or unexpected; null allows none.</param>
    /// <exception cref="CheckpointException">The state dict does not match the module; the module is left untouched.</exception>
    public static void LoadStateDictInto(
        Module module, IReadOnlyDictionary<string, Tensor> stateDict, string sourceDescription, CheckpointLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        var targets = module.state_dict();
        var shapes = stateDict.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)kv.Value.shape, StringComparer.Ordinal);
        options ??= new CheckpointLoadOptions();
        Validate(targets, shapes, sourceDescription ?? "state dict", options);
        RefuseIntegerIntoFloat(targets, stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.dtype, StringComparer.Ordinal),
            sourceDescription ?? "state dict", options);

        using var noGrad = torch.no_grad();
        foreach (var (name, value) in stateDict)
        {
            if (targets.TryGetValue(name, out var target))
            {
                target.copy_(value);
            }
        }
    }

    /// <summary>Saves <paramref name="module"/>'s <c>state_dict()</c>; see <see cref="Save(IReadOnlyDictionary{string, Tensor}, string, CheckpointSaveOptions?)"/>.</summary>
    /// <param name="module">The module; its parameters are not modified.</param>
    /// <param name="folder">The checkpoint folder; created if missing.</param>
    /// <param name="options">Dtype, shard size, skipped keys; null uses the defaults.</param>
    public static void Save(Module module, string folder, CheckpointSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        Save(module.state_dict(), folder, options);
    }

    /// <summary>
    /// Writes <paramref name="stateDict"/> as <c>model.safetensors</c>, or as shards plus
    /// <c>model.safetensors.index.json</c> when it exceeds <see cref="CheckpointSaveOptions.MaxShardBytes"/>.
    /// </summary>
    /// <remarks>
    /// Every file is first written whole under a temporary name in <paramref name="folder"/> and flushed; only then
    /// are they renamed into place together, through a journal that the next save or load of the folder completes
    /// if the process is killed half-way. Weights files of an earlier save that the new layout does not use
    /// (<c>model.safetensors</c>, <c>model-*-of-*.safetensors</c>, the index) are removed in the same step, and
    /// temporaries left by an interrupted save are deleted, so a load never mixes old and new tensors. Other files
    /// in the folder (config.json, tokenizer) are left alone. Concurrent saves into one folder are not supported.
    /// </remarks>
    /// <param name="stateDict">Tensors by HF name, any dtype and device; not modified or disposed.</param>
    /// <param name="folder">The checkpoint folder; created if missing.</param>
    /// <param name="options">Dtype, shard size, skipped keys; null uses the defaults.</param>
    public static void Save(IReadOnlyDictionary<string, Tensor> stateDict, string folder, CheckpointSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        using var transaction = FolderTransaction.Begin(folder);
        Stage(stateDict, transaction, options);
        transaction.Commit();
    }

    /// <summary>
    /// Writes the weights files of <paramref name="stateDict"/> into <paramref name="transaction"/> (see
    /// <see cref="Save(IReadOnlyDictionary{string, Tensor}, string, CheckpointSaveOptions?)"/>), for callers that
    /// commit them together with other files such as config.json.
    /// </summary>
    internal static void Stage(IReadOnlyDictionary<string, Tensor> stateDict, FolderTransaction transaction, CheckpointSaveOptions? options)
    {
        options ??= new CheckpointSaveOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxShardBytes, nameof(options.MaxShardBytes));

        var entries = stateDict.Where(kv => !options.SkipKeys.Contains(kv.Key)).ToList();
        var sizes = new List<long>(entries.Count);
        foreach (var (name, tensor) in entries)
        {
            ArgumentNullException.ThrowIfNull(tensor, name);
            var stored = SafetensorsFile.StoredDType(tensor.dtype, options.DType);
            _ = SafetensorsFile.ToSafetensorsDType(stored); // unsupported dtypes fail before anything is written
            sizes.Add(tensor.NumberOfElements * SafetensorsFile.ElementSize(stored));
        }
        var shards = PlanShards(entries, sizes, options.MaxShardBytes);
        var metadata = options.Metadata ?? SafetensorsFile.DefaultMetadata;

        List<string> names;
        if (shards.Count <= 1)
        {
            var only = shards.Count == 1 ? shards[0] : [];
            transaction.Write(WeightsFileName, stream => SafetensorsFile.Write(stream, only, metadata, options.DType));
            names = [WeightsFileName];
        }
        else
        {
            names = [.. Enumerable.Range(1, shards.Count).Select(i => ShardFileName(i, shards.Count))];
            var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < shards.Count; i++)
            {
                var shard = shards[i];
                transaction.Write(names[i], stream => SafetensorsFile.Write(stream, shard, metadata, options.DType));
                foreach (var (name, _) in shard)
                {
                    weightMap[name] = names[i];
                }
            }
            transaction.Write(IndexFileName, stream => WriteIndex(stream, sizes.Sum(), weightMap));
            names.Add(IndexFileName);
        }

        foreach (var path in Directory.EnumerateFiles(transaction.Folder))
        {
            var name = Path.GetFileName(path);
            if (WeightsFilePattern().IsMatch(name) && !names.Contains(name))
            {
                transaction.Delete(name);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> to one safetensors file, atomically (a temporary file, flushed, then renamed),
    /// with the <c>{"format":"pt"}</c> metadata Python expects. For weights that sit beside a model without being part
    /// of its state dict, such as PPO's value head (<c>value_head.safetensors</c>): the model's own
    /// <c>model.safetensors</c> keys stay those of the Hugging Face architecture.
    /// </summary>
    /// <param name="tensors">Tensors by name, any dtype and device; not modified or disposed.</param>
    /// <param name="path">The file to create or replace (its folder must exist).</param>
    /// <param name="dtype">Store floating-point tensors in this dtype; null stores each as it is.</param>
    public static void SaveFile(IReadOnlyDictionary<string, Tensor> tensors, string path, torch.ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafetensorsFile.Save(path, tensors, metadata: null, dtype);
    }

    /// <summary>Reads every tensor of one safetensors file onto the CPU, in the dtype stored on disk.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The tensors by name; the caller owns (and disposes) them.</returns>
    /// <exception cref="CheckpointException">The file is missing, truncated or corrupt; the message names it.</exception>
    public static Dictionary<string, Tensor> LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SafetensorsFile.Load(path);
    }

    /// <summary>The HF shard name, e.g. <c>model-00001-of-00003.safetensors</c>.</summary>
    /// <param name="index">1-based shard number.</param>
    /// <param name="count">Number of shards.</param>
    /// <returns>The file name.</returns>
    public static string ShardFileName(int index, int count) => $"model-{index:D5}-of-{count:D5}.safetensors";

    private static List<List<KeyValuePair<string, Tensor>>> PlanShards(
        List<KeyValuePair<string, Tensor>> entries, List<long> sizes, long maxShardBytes)
    {
        // Greedy in state-dict order, as transformers does: start a new shard when the next tensor would overflow.
        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        List<KeyValuePair<string, Tensor>>? current = null;
        long currentBytes = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (current is null || (current.Count > 0 && currentBytes + sizes[i] > maxShardBytes))
            {
                current = [];
                currentBytes = 0;
                shards.Add(current);
            }
            current.Add(entries[i]);
            currentBytes += sizes[i];
        }
        return shards;
    }

    private static void WriteIndex(Stream stream, long totalSize, SortedDictionary<string, string> weightMap)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_size", totalSize);
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach (var (name, file) in weightMap)
        {
            json.WriteString(name, file);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    [GeneratedRegex(@"^(model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json)$")]
    private static partial Regex WeightsFilePattern();

    [GeneratedRegex(@"^model-\d+-of-\d+\.safetensors$")]
    private static partial Regex ShardPattern();

    private sealed record CheckpointLayout(string Description, List<(SafetensorsHeader Header, List<SafetensorsTensorInfo> Tensors)> Files);

    private static CheckpointLayout Resolve(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.GetFullPath(folder);
        if (File.Exists(full))
        {
            throw new CheckpointException(
                $"Checkpoint path '{full}' is a file; expected a folder with {WeightsFileName} or {IndexFileName}" +
                (full.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? " (pass the folder that holds it)." : "."), full);
        }
        if (!Directory.Exists(full))
        {
            throw new CheckpointException(
                $"Checkpoint folder '{full}' does not exist; expected a folder with {WeightsFileName} or {IndexFileName}.", full);
        }

        FolderTransaction.Recover(full); // finish a save that was killed half-way, drop its old temporaries
        var single = Path.Combine(full, WeightsFileName);
        if (File.Exists(single))
        {
            var header = SafetensorsFile.ReadHeader(single);
            return new CheckpointLayout(single, [(header, [.. header.Tensors])]);
        }

        var index = Path.Combine(full, IndexFileName);
        if (File.Exists(index))
        {
            return ReadIndex(index, full);
        }

        var pickles = Directory.EnumerateFiles(full)
            .Select(Path.GetFileName)
            .Where(n => n!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)
                || n.EndsWith(".pt", StringComparison.OrdinalIgnoreCase)
                || n.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (pickles.Count > 0)
        {
            throw new CheckpointException(
                $"Checkpoint folder '{full}' has only pickle weights ({string.Join(", ", pickles)}), no {WeightsFileName} or {IndexFileName}. " +
                "Pickle .bin/.pt checkpoints are never loaded: unpickling can run arbitrary code. Convert them to safetensors first, " +
                "e.g. in Python: AutoModelForCausalLM.from_pretrained(folder).save_pretrained(out, safe_serialization=True).", full);
        }

        var shards = Directory.EnumerateFiles(full).Select(Path.GetFileName).Where(n => ShardPattern().IsMatch(n!)).ToList();
        var hint = shards.Count > 0
            ? $" It has shard files ({string.Join(", ", shards.Order(StringComparer.Ordinal))}) but no index: an interrupted save or an incomplete copy."
            : "";
        throw new CheckpointException(
            $"Checkpoint folder '{full}' has no weights: expected {WeightsFileName} or {IndexFileName}.{hint}", full);
    }

    private static CheckpointLayout ReadIndex(string indexPath, string folder)
    {
        Dictionary<string, List<string>> byFile;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var weightMap)
                || weightMap.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointException($"Index '{indexPath}' has no \"weight_map\" object.", indexPath);
            }
            byFile = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var entry in weightMap.EnumerateObject())
            {
                var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : null;
                if (file is null || file.Length == 0 || Path.GetFileName(file) != file || file is "." or ".."
                    || !file.EndsWith(".safetensors", StringComparison.Ordinal))
                {
                    throw new CheckpointException(
                        $"Index '{indexPath}' maps '{entry.Name}' to {entry.Value.GetRawText()}; expected the name of a .safetensors file in the same folder.",
                        indexPath);
                }
                if (!byFile.TryGetValue(file, out var names))
                {
                    byFile[file] = names = [];
                }
                names.Add(entry.Name);
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"Index '{indexPath}' is not valid JSON: {e.Message}", indexPath, e);
        }

        var files = new List<(SafetensorsHeader, List<SafetensorsTensorInfo>)>();
        foreach (var (file, names) in byFile.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path))
            {
                throw new CheckpointException(
                    $"Index '{indexPath}' maps {names.Count} tensor(s) to '{file}', which does not exist in '{folder}'.", path);
            }
            var header = SafetensorsFile.ReadHeader(path);
            foreach (var name in names)
            {
                if (!header.TryGetTensor(name, out _))
                {
                    throw new CheckpointException($"Index '{indexPath}' maps '{name}' to '{file}', but that file has no such tensor.", path);
                }
            }
            files.Add((header, SafetensorsFile.Select(header, names)));
        }
        return new CheckpointLayout(indexPath, files);
    }

    private static void Validate(
        Dictionary<string, Tensor> targets,
        IReadOnlyDictionary<string, IReadOnlyList<long>> sources,
        string description,
        CheckpointLoadOptions options)
    {
        var missing = targets.Keys.Where(k => !sources.ContainsKey(k) && !options.IgnoreMissing.Contains(k)).ToList();
        var unexpected = sources.Keys.Where(k => !targets.ContainsKey(k) && options.IgnoreUnexpected?.Invoke(k) != true).ToList();
        var mismatched = new List<string>();
        var mismatchText = new List<string>();
        foreach (var (name, shape) in sources)
        {
            if (targets.TryGetValue(name, out var target) && !target.shape.SequenceEqual(shape))
            {
                mismatched.Add(name);
                mismatchText.Add($"{name} expected {SafetensorsFile.FormatShape(target.shape)} got {SafetensorsFile.FormatShape(shape)}");
            }
        }
        if (missing.Count == 0 && unexpected.Count == 0 && mismatched.Count == 0)
        {
            return;
        }

        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add("missing: " + JoinCapped(missing));
        }
        if (unexpected.Count > 0)
        {
            parts.Add("unexpected: " + JoinCapped(unexpected));
        }
        if (mismatched.Count > 0)
        {
            parts.Add("shape mismatch: " + JoinCapped(mismatchText));
        }
        throw new CheckpointException($"Checkpoint '{description}' does not match the module: {string.Join("; ", parts)}.", description)
        {
            MissingKeys = missing,
            UnexpectedKeys = unexpected,
            ShapeMismatchKeys = mismatched,
        };
    }

    private static void RefuseIntegerIntoFloat(
        Dictionary<string, Tensor> targets,
        IReadOnlyDictionary<string, torch.ScalarType> sources,
        string description,
        CheckpointLoadOptions options)
    {
        if (options.AllowIntegerToFloat)
        {
            return;
        }
        var refused = sources
            .Where(kv => targets.TryGetValue(kv.Key, out var target)
                && torch.is_floating_point(target) && !IsFloating(kv.Value))
            .Select(kv => $"{kv.Key} is {kv.Value}")
            .ToList();
        if (refused.Count > 0)
        {
            throw new CheckpointException(
                $"Checkpoint '{description}' stores integer tensors where the module has floating-point weights ({JoinCapped(refused)}); " +
                $"expected F32, BF16 or F16. Set {nameof(CheckpointLoadOptions)}.{nameof(CheckpointLoadOptions.AllowIntegerToFloat)} to convert them anyway.",
                description);
        }
    }

    private static bool IsFloating(torch.ScalarType type) =>
        type is torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Float32 or torch.ScalarType.Float64;

    private static string JoinCapped(IReadOnlyList<string> items)
    {
        var text = new StringBuilder(string.Join(", ", items.Take(MaxNamesInMessage)));
        if (items.Count > MaxNamesInMessage)
        {
            text.Append($" and {items.Count - MaxNamesInMessage} more");
        }
        return text.ToString();
    }
}
