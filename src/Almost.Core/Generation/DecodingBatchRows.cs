using TorchSharp;
using static TorchSharp.torch;

namespace Almost.Generation;

/// <summary>
/// Which prompt rows a decoding batch still runs on the device. A batch decodes until its longest row is done, while
/// most rows of a sampled batch finish much earlier (TinyWorld's replies: about 15 of 48 tokens); dropping finished rows
/// from the device tensors makes every later step cheaper. Host-side state stays indexed by prompt row; the device's
/// rows are a subsequence of them.
/// </summary>
internal sealed class DecodingBatchRows : IDisposable
{
    private int[] _rows;                  // prompt row of each device row
    private readonly int[] _positionOf;   // device row of each prompt row; -1 once dropped
    private readonly Device _device;
    private Tensor? _index;               // _rows on the device; null while the device holds every row in order

    /// <summary>Starts with every one of <paramref name="rows"/> prompt rows on <paramref name="device"/>, in order.</summary>
    public DecodingBatchRows(int rows, Device device)
    {
        _device = device;
        _rows = Enumerable.Range(0, rows).ToArray();
        _positionOf = Enumerable.Range(0, rows).ToArray();
    }

    /// <summary>Rows on the device.</summary>
    public int Count => _rows.Length;

    /// <summary>The device row of prompt row <paramref name="row"/> (which must still be on the device).</summary>
    public long PositionOf(int row) =>
        _positionOf[row] >= 0 ? _positionOf[row] : throw new InvalidOperationException($"Row {row} was dropped from the batch.");

    /// <summary>
    /// Writes the device rows' <paramref name="values"/> (Count, …) into their prompt rows of <paramref name="column"/>
    /// (a view with one row per prompt row); dropped rows keep what they hold.
    /// </summary>
    public void Write(Tensor column, Tensor values)
    {
        if (_index is null)
        {
            column.copy_(values);
        }
        else
        {
            column.index_copy_(0, _index, values);
        }
    }

    /// <summary>
    /// Drops the rows whose decoding finished (<see cref="DecodingRow.Reason"/> set) when they are at least a quarter
    /// of the device batch: fewer would not pay for copying the KV cache. Returns the kept device rows (positions in
    /// the batch before this call, int64 on the batch's device, in the current dispose scope) for the caller to
    /// select from every device tensor, or null when nothing changes.
    /// </summary>
    public Tensor? Compact(DecodingRow[] state)
    {
        var kept = new List<long>(_rows.Length);
        for (var i = 0; i < _rows.Length; i++)
        {
            if (state[_rows[i]].Reason is null)
            {
                kept.Add(i);
            }
        }

        if (kept.Count == 0 || kept.Count * 4 > _rows.Length * 3)
        {
            return null;
        }

        var rows = kept.Select(i => _rows[i]).ToArray();
        Array.Fill(_positionOf, -1);
        for (var i = 0; i < rows.Length; i++)
        {
            _positionOf[rows[i]] = i;
        }

        _rows = rows;
        _index?.Dispose();
        _index = tensor(Array.ConvertAll(rows, r => (long)r), device: _device).DetachFromDisposeScope();
        return tensor(kept.ToArray(), device: _device);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _index?.Dispose();
        _index = null;
    }
}
