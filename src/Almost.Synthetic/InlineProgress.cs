namespace Almost.Synthetic;

/// <summary>An <see cref="IProgress{T}"/> that runs its callback on the reporting thread (<see cref="Progress{T}"/> posts it elsewhere, out of order).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
