using System.Runtime.InteropServices;
using System.Text.Json;
using Almost.Data;
using Almost.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>Ready-made <see cref="ICheckpointPart"/>s: delegates, JSON values (counters, controllers) and TorchSharp generators.</summary>
public static class CheckpointParts
{
    /// <summary>A part that calls <paramref name="save"/> and <paramref name="load"/> with the checkpoint folder.</summary>
    /// <param name="save">Writes the part's files.</param>
    /// <param name="load">Reads them back.</param>
    /// <returns>The part.</returns>
    public static ICheckpointPart FromDelegates(Action<string> save, Action<string> load)
    {
        ArgumentNullException.ThrowIfNull(save);
        ArgumentNullException.ThrowIfNull(load);
        return new DelegatePart(save, load);
    }

    /// <summary>
    /// A value kept as one JSON file (snake_case): <paramref name="capture"/> is called at save time,
    /// <paramref name="restore"/> with the value read back. For counters, positions in a prompt stream, a KL controller.
    /// </summary>
    /// <typeparam name="T">A JSON-serialisable type.</typeparam>
    /// <param name="fileName">The file name inside the checkpoint, e.g. <c>kl_controller.json</c>.</param>
    /// <param name="capture">Returns the current value.</param>
    /// <param name="restore">Receives the saved value.</param>
    /// <returns>The part.</returns>
    public static ICheckpointPart Json<T>(string fileName, Func<T> capture, Action<T> restore)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(restore);
        return new DelegatePart(
            folder => AtomicFile.WriteJson(Path.Combine(folder, fileName), capture(), JsonlDefaults.SerializerOptions),
            folder =>
            {
                var path = Path.Combine(folder, fileName);
                if (!File.Exists(path))
                {
                    throw new InvalidDataException($"{path}: the checkpoint has no {fileName}; expected the state saved by this part.");
                }

                try
                {
                    restore(JsonSerializer.Deserialize<T>(File.ReadAllText(path), JsonlDefaults.SerializerOptions)
                            ?? throw new InvalidDataException($"{path}: expected a JSON value, found null."));
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"{path}: not a valid {typeof(T).Name} ({e.Message}).", e);
                }
            });
    }

    /// <summary>
    /// The state of a TorchSharp <see cref="Generator"/> (sampling during rollouts, dropout), saved as raw bytes, so a
    /// resumed run draws the same random numbers as an uninterrupted one.
    /// </summary>
    /// <param name="fileName">The file name inside the checkpoint, e.g. <c>rollout_rng.bin</c>.</param>
    /// <param name="generator">The generator; its state is read at save time and overwritten at load time.</param>
    /// <returns>The part.</returns>
    public static ICheckpointPart Generator(string fileName, Generator generator)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentNullException.ThrowIfNull(generator);
        return new DelegatePart(
            folder =>
            {
                using var state = generator.get_state();
                AtomicFile.WriteAllBytes(Path.Combine(folder, fileName), state.data<byte>().ToArray());
            },
            folder =>
            {
                var path = Path.Combine(folder, fileName);
                var bytes = File.ReadAllBytes(path);
                using var state = tensor(bytes, dtype: ScalarType.Byte);
                try
                {
                    generator.set_state(state);
                }
                catch (Exception e) when (e is ArgumentException or ExternalException or InvalidOperationException)
                {
                    throw new InvalidDataException($"{path}: not a generator state of this device ({bytes.Length} bytes; {e.Message}).", e);
                }
            });
    }

    private sealed class DelegatePart(Action<string> save, Action<string> load) : ICheckpointPart
    {
        public void Save(string folder) => save(folder);

        public void Load(string folder) => load(folder);
    }
}
