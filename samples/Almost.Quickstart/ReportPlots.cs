using System.Text;
using Almost.IO;
using Almost.Rlhf.Training;
using ScottPlot;

namespace Almost.Quickstart;

/// <summary>A PNG of the report: its file name under <c>plots/</c> and its caption.</summary>
/// <param name="FileName">The file name (e.g. <c>oracle_scores.png</c>).</param>
/// <param name="Title">The caption report.md gives it.</param>
internal sealed record ReportPlot(string FileName, string Title);

/// <summary>
/// The report's plots (ScottPlot, PNG under <c>{output}/plots/</c>): the training loss of every trainer run, the oracle
/// score of every system with its 95 % interval, and PPO over its steps (oracle and reward-model score of the rollouts,
/// KL to the SFT reference, response length).
/// </summary>
internal static class ReportPlots
{
    /// <summary>The folder under the output folder, and the relative path report.md links with.</summary>
    public const string Folder = "plots";

    private const int Width = 960, Height = 540;

    // The trainer runs of the main job (their folders under the output folder), one plot per objective.
    private static readonly (string FileName, string Title, string[] Runs)[] LossPlots =
    [
        ("loss_reward_model.png", "Reward model: Bradley–Terry loss", ["rm/almost", "rm/no_filter"]),
        ("loss_sft.png", "SFT: loss on assistant tokens", ["policies/almost_sft", "policies/plain_selfplay_sft", "policies/no_filter_sft"]),
        ("loss_dpo.png", "DPO loss", ["policies/almost_dpo", "policies/almost_dpo_smoothed"]),
    ];

    /// <summary>
    /// Draws the plots and appends a section that links them to <c>report.md</c>, which must be written already: a
    /// failure here (SkiaSharp's native library missing, a bad metrics file) costs the plots only, and is logged as one line.
    /// </summary>
    /// <param name="output">The output folder.</param>
    /// <param name="numbers">The report's numbers.</param>
    /// <param name="log">Receives the failure line; null writes it to standard error.</param>
    public static void AddToReport(string output, MainJobNumbers numbers, Action<string>? log)
    {
        IReadOnlyList<ReportPlot> plots;
        try
        {
            plots = Draw(output, numbers);
        }
#pragma warning disable CA1031 // Any failure to draw must leave the finished report alone; it is reported, not swallowed.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            // A missing native library surfaces as a type initializer's failure: name the library's error instead.
            var cause = e;
            while (cause is TypeInitializationException or System.Reflection.TargetInvocationException && cause.InnerException is { } inner)
            {
                cause = inner;
            }

            var line = $"plots: not drawn, report.md and report.json are complete without them ({cause.GetType().Name}: {cause.Message.ReplaceLineEndings(" ")})";
            (log ?? Console.Error.WriteLine)(line);
            return;
        }

        var report = Path.Combine(output, "report.md");
        var md = new StringBuilder(File.ReadAllText(report)).AppendLine().AppendLine("## Plots").AppendLine();
        foreach (var plot in plots)
        {
            md.AppendLine($"![{plot.Title}]({Folder}/{plot.FileName})").AppendLine();
        }

        AtomicFile.WriteAllText(report, md.ToString());
    }

    /// <summary>Draws every plot whose data exists under <paramref name="output"/>; returns those drawn.</summary>
    /// <param name="output">The output folder.</param>
    /// <param name="numbers">The report's numbers (system scores, PPO trace).</param>
    /// <returns>The plots, in report order.</returns>
    public static IReadOnlyList<ReportPlot> Draw(string output, MainJobNumbers numbers)
    {
        var folder = Path.Combine(output, Folder);
        Directory.CreateDirectory(folder);
        var drawn = new List<ReportPlot>();
        foreach (var (fileName, title, runs) in LossPlots)
        {
            var files = runs.Select(r => (Path.GetFileName(r), Path.Combine(output, r, MetricsSink.FileName))).Where(r => File.Exists(r.Item2)).ToList();
            if (files.Count > 0 && LossCurves(Path.Combine(folder, fileName), title, files))
            {
                drawn.Add(new ReportPlot(fileName, title));
            }
        }

        const string scores = "oracle_scores.png";
        OracleScores(Path.Combine(folder, scores), numbers.Systems, numbers.VanillaBestConfiguration);
        drawn.Add(new ReportPlot(scores, "Oracle score per system (mean and 95 % interval)"));

        const string ppo = "ppo.png";
        var ppoMetrics = Path.Combine(output, "policies", "almost_ppo", MetricsSink.FileName);
        if (numbers.PpoTrace.Count > 0 || File.Exists(ppoMetrics))
        {
            PpoSteps(Path.Combine(folder, ppo), numbers.PpoTrace, File.Exists(ppoMetrics) ? ppoMetrics : null);
            drawn.Add(new ReportPlot(ppo, "PPO (GAE) over steps: rollout scores, KL to SFT, response length"));
        }

        return drawn;
    }

    /// <summary>The <c>loss</c> of each run's metrics file by step, one line per run; false when no file has a loss.</summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="title">The plot's title.</param>
    /// <param name="runs">Each run's legend label and <c>metrics.jsonl</c>.</param>
    /// <returns>Whether the plot was written.</returns>
    public static bool LossCurves(string path, string title, IEnumerable<(string Label, string MetricsFile)> runs)
    {
        var plot = new Plot();
        var lines = 0;
        foreach (var (label, file) in runs)
        {
            var points = TrainingMetrics.Read(file, "loss");
            if (points.Count > 0)
            {
                plot.Add.ScatterLine(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray()).LegendText = label;
                lines++;
            }
        }

        if (lines == 0)
        {
            return false;
        }

        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel("training loss (mean since the previous log)");
        plot.ShowLegend(Alignment.UpperRight);
        Save(path, p => plot.SavePng(p, Width, Height));
        return true;
    }

    /// <summary>A bar per system (best first) at its mean oracle score, with its 95 % interval as an error bar.</summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="systems">The systems' scores.</param>
    /// <param name="vanillaBest">The configuration <c>vanilla_best</c> copies (drawn once, under its own name).</param>
    public static void OracleScores(string path, IReadOnlyDictionary<string, SystemScore> systems, string vanillaBest)
    {
        var ordered = systems.Where(s => s.Key != "vanilla_best" || !systems.ContainsKey(vanillaBest)).OrderByDescending(s => s.Value.Mean).ToList();
        var plot = new Plot();
        var bars = ordered.Select((s, i) => new Bar
        {
            Position = i,
            Value = s.Value.Mean,
            FillColor = s.Key.StartsWith("almost", StringComparison.Ordinal) ? Colors.SteelBlue : Colors.LightGray,
        }).ToArray();
        plot.Add.Bars(bars);
        var errors = plot.Add.ErrorBar(
            ordered.Select((_, i) => (double)i).ToArray(), ordered.Select(s => s.Value.Mean).ToArray(), ordered.Select(_ => 0.0).ToArray());
        errors.YErrorNegative = ordered.Select(s => s.Value.Mean - s.Value.Lower).ToArray();
        errors.YErrorPositive = ordered.Select(s => s.Value.Upper - s.Value.Mean).ToArray();
        errors.Color = Colors.Black;
        var labels = ordered.Select(s => s.Key == vanillaBest ? $"{s.Key} (vanilla_best)" : s.Key).ToArray();
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "ALMoST (SFT, PPO, DPO)", FillColor = Colors.SteelBlue });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "prompted baselines and ablations", FillColor = Colors.LightGray });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Bottom.SetTicks(ordered.Select((_, i) => (double)i).ToArray(), labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 150;
        // Scores are in [0, 1]; the band above 1 holds the legend clear of the bars.
        plot.Axes.SetLimitsY(0, 1.2 * Math.Max(1.0, ordered.Select(s => s.Value.Upper).DefaultIfEmpty(1.0).Max()));
        plot.Title($"Oracle score on {ordered.FirstOrDefault().Value?.Tasks ?? 0} eval-split tasks (95 % interval of the mean)");
        plot.YLabel("mean oracle score");
        Save(path, p => plot.SavePng(p, Width, Height));
    }

    /// <summary>
    /// PPO over its steps, three panels sharing the step axis: the rollouts' mean oracle and reward-model scores, the KL
    /// to the SFT reference, and the mean response length in tokens.
    /// </summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="trace">The audited rollouts (oracle and reward-model score per step).</param>
    /// <param name="metricsFile">The PPO run's <c>metrics.jsonl</c> (<c>kl</c>, <c>response_length</c>), or null.</param>
    public static void PpoSteps(string path, IReadOnlyList<PpoTracePoint> trace, string? metricsFile)
    {
        var figure = new Multiplot();
        figure.AddPlots(3);
        var (scores, kl, length) = (figure.GetPlot(0), figure.GetPlot(1), figure.GetPlot(2));

        if (trace.Count > 0)
        {
            var steps = trace.Select(p => (double)p.Step).ToArray();
            scores.Add.Scatter(steps, trace.Select(p => p.Oracle).ToArray()).LegendText = "oracle";
            scores.Add.Scatter(steps, trace.Select(p => p.RewardModel).ToArray()).LegendText = "reward model";
            scores.ShowLegend(Alignment.LowerRight);
        }

        scores.Title("PPO (GAE) rollouts");
        scores.YLabel("mean score");
        scores.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        Series(kl, metricsFile, "kl", "KL to SFT");
        Series(length, metricsFile, "response_length", "length (tokens)");
        length.XLabel("PPO step");
        figure.SharedAxes.ShareX(figure.GetPlots());
        Save(path, p => figure.SavePng(p, Width, Height * 3 / 2));
    }

    private static void Series(Plot plot, string? metricsFile, string key, string label)
    {
        var points = metricsFile is null ? [] : TrainingMetrics.Read(metricsFile, key);
        if (points.Count > 0)
        {
            plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel(label);
    }

    // Written to a temporary name and renamed, so a reader never sees half a PNG.
    private static void Save(string path, Action<string> save)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileNameWithoutExtension(path)}.{Guid.NewGuid():N}.png");
        try
        {
            save(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
