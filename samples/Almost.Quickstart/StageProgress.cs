using System.Globalization;
using Spectre.Console;

namespace Almost.Quickstart;

/// <summary>
/// The main job's console. In a terminal it draws one Spectre.Console progress bar per stage, fed by the stage's own
/// <see cref="IProgress{T}"/> reports, with the log lines scrolling above the bars. When the output is redirected (CI,
/// the test suite, <c>&gt; log</c>) or the terminal cannot take ANSI, it writes plain lines only, so a log never holds
/// escape codes: every <see cref="Log"/> line, and a line each time a stage passes a quarter of its work. Log lines
/// read <c>[mm:ss] text</c> in both modes.
/// </summary>
/// <remarks>
/// The pipeline runs one stage at a time, so a new bar ends the previous one; the bars keep their last state on screen
/// (a stage that fell short of its target, such as a query round limit, shows where it stopped).
/// </remarks>
internal sealed class StageProgress : IAsyncDisposable
{
    private readonly Func<TimeSpan> _elapsed;
    private readonly TextWriter? _plain;
    private readonly IAnsiConsole? _console;
    private readonly ProgressContext? _context;
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _rendering = Task.CompletedTask;
    private readonly Dictionary<StageBar, ProgressTask> _tasks = [];
    private readonly Dictionary<StageBar, int> _printedQuarters = [];
    private readonly Lock _gate = new();
    private StageBar? _current;
    private bool _disposed;

    private StageProgress(Func<TimeSpan> elapsed, TextWriter plain)
    {
        _elapsed = elapsed;
        _plain = plain;
    }

    private StageProgress(Func<TimeSpan> elapsed, IAnsiConsole console)
    {
        _elapsed = elapsed;
        _console = console;
        var started = new TaskCompletionSource<ProgressContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        _rendering = console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                started.SetResult(context);
                await _stop.Task.ConfigureAwait(false);
            });
        // The display hands over its context as soon as it starts; if it fails to start, its task holds the error.
        if (Task.WhenAny(started.Task, _rendering).GetAwaiter().GetResult() != started.Task)
        {
            _rendering.GetAwaiter().GetResult();
        }

        _context = started.Task.GetAwaiter().GetResult();
    }

    /// <summary>Whether bars are drawn (a terminal) rather than plain lines.</summary>
    public bool IsLive => _console is not null;

    /// <summary>
    /// Bars on this process's console when it is an interactive ANSI terminal, plain lines on standard output otherwise
    /// (redirected output, CI, <c>TERM=dumb</c>).
    /// </summary>
    /// <param name="elapsed">The job's clock, for the <c>[mm:ss]</c> stamps.</param>
    /// <returns>The console.</returns>
    public static StageProgress ForConsole(Func<TimeSpan> elapsed)
    {
        var capabilities = AnsiConsole.Profile.Capabilities;
        return Console.IsOutputRedirected || !capabilities.Interactive || !capabilities.Ansi
            ? Plain(Console.Out, elapsed)
            : Live(AnsiConsole.Console, elapsed);
    }

    /// <summary>Plain lines on <paramref name="writer"/> (no escape codes).</summary>
    /// <param name="writer">Where the lines go.</param>
    /// <param name="elapsed">The clock of the stamps.</param>
    /// <returns>The console.</returns>
    public static StageProgress Plain(TextWriter writer, Func<TimeSpan> elapsed) => new(elapsed, writer);

    /// <summary>Live bars on <paramref name="console"/>; dispose to end them.</summary>
    /// <param name="console">A Spectre console (an interactive terminal).</param>
    /// <param name="elapsed">The clock of the stamps.</param>
    /// <returns>The console.</returns>
    public static StageProgress Live(IAnsiConsole console, Func<TimeSpan> elapsed) => new(elapsed, console);

    /// <summary>Writes one <c>[mm:ss] text</c> line (above the bars in a terminal).</summary>
    /// <param name="line">The text.</param>
    public void Log(string line)
    {
        lock (_gate)
        {
            WriteLine(line);
        }
    }

    /// <summary>Starts the bar of a stage, ending the previous one; pass it as the stage's progress receiver.</summary>
    /// <param name="name">The stage's name.</param>
    /// <returns>The bar.</returns>
    public StageBar Bar(string name)
    {
        var bar = new StageBar(name, Changed);
        lock (_gate)
        {
            Finish(_current);
            _current = bar;
            if (_context is not null && !_disposed)
            {
                var task = _context.AddTask(Markup.Escape(name), autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                _tasks[bar] = task;
            }
            else
            {
                _printedQuarters[bar] = 0;
            }
        }

        return bar;
    }

    /// <summary>Ends the last bar and the live display (idempotent); lines logged afterwards print below it.</summary>
    /// <returns>A task that completes when the display has drawn its last frame.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            Finish(_current);
            _current = null;
            _disposed = true;
        }

        _stop.TrySetResult();
        await _rendering.ConfigureAwait(false);
    }

    private void WriteLine(string line)
    {
        var stamped = $"[{_elapsed():mm\\:ss}] {line}";
        if (_console is not null)
        {
            _console.WriteLine(stamped);
        }
        else
        {
            _plain!.WriteLine(stamped);
        }
    }

    private void Changed(StageBar bar)
    {
        lock (_gate)
        {
            if (_tasks.TryGetValue(bar, out var task))
            {
                Draw(bar, task);
            }
            else if (_printedQuarters.TryGetValue(bar, out var printed))
            {
                PrintPlain(bar, printed);
            }
        }
    }

    private static void Draw(StageBar bar, ProgressTask task)
    {
        task.Description = bar.Detail is null ? Markup.Escape(bar.Name) : $"{Markup.Escape(bar.Name)} [grey]{Markup.Escape(bar.Detail)}[/]";
        if (bar.Total is { } total)
        {
            task.IsIndeterminate = false;
            task.MaxValue = Math.Max(1, total);
            task.Value = Math.Min(bar.Completed, task.MaxValue);
        }
    }

    // A line each time the stage passes a quarter of its work (at most four a stage), or each report when the stage
    // has no total (the evaluation: one line per system).
    private void PrintPlain(StageBar bar, int printed)
    {
        var counted = bar.Total is { } total ? $"{bar.Completed}/{total}" : bar.Completed.ToString(CultureInfo.InvariantCulture);
        var note = bar.Detail is null ? "" : ", " + bar.Detail;
        if (bar.Total is not { } of)
        {
            WriteLine($"{bar.Name}: {counted} done{note}");
            return;
        }

        var quarter = of <= 0 ? 4 : (int)Math.Clamp(4 * bar.Completed / of, 0, 4);
        if (quarter > printed)
        {
            _printedQuarters[bar] = quarter;
            WriteLine($"{bar.Name}: {25 * quarter} % ({counted}{note})");
        }
    }

    private void Finish(StageBar? bar)
    {
        if (bar is null || !_tasks.TryGetValue(bar, out var task))
        {
            return;
        }

        // Nothing reported: the stage's work was done by an earlier run. No total (the evaluation): it is done now.
        if (!bar.Reported || bar.Total is null)
        {
            task.IsIndeterminate = false;
            task.MaxValue = Math.Max(1, bar.Completed);
            task.Value = task.MaxValue;
        }

        task.StopTask();
    }
}
