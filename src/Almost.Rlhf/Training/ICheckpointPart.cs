namespace Almost.Rlhf.Training;

/// <summary>
/// One piece of training state that a <see cref="CheckpointManager"/> saves and restores: a model, an optimizer, a
/// random generator, counters, a KL controller. Each part writes its own files (names unique within a checkpoint)
/// into the checkpoint folder it is given; restoring must reproduce the state exactly, so a resumed run continues
/// bit for bit.
/// </summary>
public interface ICheckpointPart
{
    /// <summary>Writes this part's files into <paramref name="folder"/> (a temporary folder, renamed when complete).</summary>
    /// <param name="folder">The checkpoint folder being written.</param>
    void Save(string folder);

    /// <summary>Restores this part from the files <see cref="Save"/> wrote into <paramref name="folder"/>.</summary>
    /// <param name="folder">A complete checkpoint folder.</param>
    void Load(string folder);
}
