using static TorchSharp.torch;

namespace Almost.Rlhf.Training;

/// <summary>
/// The running sums of one logging interval, kept on the device so a step costs no host sync: the loss of each step,
/// each metric's sum and count, the last gradient norm, steps and input tokens. <see cref="Drain"/> reads them all in
/// one copy. Checkpoints save it (<see cref="Capture"/>), so an interval cut by a resume logs what it would have.
/// </summary>
internal sealed class LogInterval : IDisposable
{
    private readonly Device _device;
    private readonly Tensor _loss;
    private readonly SortedDictionary<string, (Tensor Sum, long Count)> _metrics = new(StringComparer.Ordinal);
    private Tensor? _gradNorm;

    public LogInterval(Device device)
    {
        _device = device;
        _loss = zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
    }

    /// <summary>Optimizer steps since the last report.</summary>
    public long Steps { get; set; }

    /// <summary>Real input tokens since the last report.</summary>
    public long Tokens { get; set; }

    public void AddLoss(Tensor stepShare) => _loss.add_(stepShare.detach().to(ScalarType.Float32));

    public void AddMetrics(IReadOnlyDictionary<string, MetricSum>? metrics)
    {
        if (metrics is null)
        {
            return;
        }

        foreach (var (name, metric) in metrics)
        {
            if (!_metrics.TryGetValue(name, out var running))
            {
                running = (zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: _device).DetachFromDisposeScope(), 0);
            }

            running.Sum.add_(metric.Sum.detach().to(ScalarType.Float32));
            _metrics[name] = (running.Sum, running.Count + metric.Count);
        }
    }

    public void SetGradNorm(Tensor gradNorm)
    {
        _gradNorm?.Dispose();
        _gradNorm = gradNorm.detach().DetachFromDisposeScope();
    }

    /// <summary>Means since the last report (loss per step, metrics per unit), read in one host copy; then resets.</summary>
    public (double Loss, double GradNorm, Dictionary<string, double> Metrics) Drain()
    {
        var names = _metrics.Keys.ToArray();
        float[] values;
        using (var scope = NewDisposeScope())
        {
            var parts = new List<Tensor> { _loss, _gradNorm ?? zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: _device) };
            parts.AddRange(names.Select(n => _metrics[n].Sum));
            values = stack(parts.ToArray()).cpu().data<float>().ToArray();
        }

        var loss = values[0] / (double)Math.Max(Steps, 1);
        var means = new Dictionary<string, double>(names.Length);
        for (int i = 0; i < names.Length; i++)
        {
            var count = _metrics[names[i]].Count;
            means[names[i]] = count > 0 ? values[i + 2] / (double)count : double.NaN;
        }

        _loss.zero_();
        foreach (var name in names)
        {
            _metrics[name].Sum.zero_();
            _metrics[name] = (_metrics[name].Sum, 0);
        }

        Steps = 0;
        return (loss, values[1], means);
    }

    /// <summary>The sums as host values, for a checkpoint.</summary>
    public LogIntervalState Capture()
    {
        var names = _metrics.Keys.ToArray();
        using var scope = NewDisposeScope();
        var sums = stack([_loss, .. names.Select(n => _metrics[n].Sum)]).cpu().data<float>().ToArray();
        return new LogIntervalState
        {
            LossSum = sums[0],
            Steps = Steps,
            Tokens = Tokens,
            Metrics = names.Select((n, i) => new LogIntervalMetric(n, sums[i + 1], _metrics[n].Count)).ToArray(),
        };
    }

    /// <summary>Restores sums captured by <see cref="Capture"/> (bitwise: fp32 values round-trip through JSON doubles).</summary>
    public void Restore(LogIntervalState state)
    {
        _loss.fill_(state.LossSum);
        Steps = state.Steps;
        Tokens = state.Tokens;
        foreach (var (sum, _) in _metrics.Values)
        {
            sum.Dispose();
        }

        _metrics.Clear();
        foreach (var metric in state.Metrics)
        {
            var sum = full(Array.Empty<long>(), metric.Sum, dtype: ScalarType.Float32, device: _device).DetachFromDisposeScope();
            _metrics[metric.Name] = (sum, metric.Count);
        }
    }

    public void Dispose()
    {
        _loss.Dispose();
        _gradNorm?.Dispose();
        foreach (var (sum, _) in _metrics.Values)
        {
            sum.Dispose();
        }
    }
}

/// <summary>The partial sums of a logging interval, as saved in a checkpoint (<c>log_interval.json</c>).</summary>
internal sealed record LogIntervalState
{
    /// <summary>Sum of the steps' mean losses since the last report (fp32 value).</summary>
    public float LossSum { get; init; }

    /// <summary>Steps since the last report.</summary>
    public long Steps { get; init; }

    /// <summary>Input tokens since the last report.</summary>
    public long Tokens { get; init; }

    /// <summary>Each metric's running sum and count.</summary>
    public IReadOnlyList<LogIntervalMetric> Metrics { get; init; } = [];
}

/// <summary>One metric's running sum and count in a <see cref="LogIntervalState"/>.</summary>
internal sealed record LogIntervalMetric(string Name, float Sum, long Count);
