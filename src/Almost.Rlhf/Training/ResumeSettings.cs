using Microsoft.Extensions.Logging;

namespace Almost.Rlhf.Training;

/// <summary>The one rule every loop applies before resuming: each recorded setting must match this run's.</summary>
internal static class ResumeSettings
{
    /// <summary>
    /// Compares the settings recorded in <paramref name="state"/> with <paramref name="now"/>: a difference is refused
    /// with the setting, its saved and its new value named, unless <paramref name="allowChanged"/> (then it is logged).
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting differs and changes are not allowed.</exception>
    public static void Check(TrainerState state, string checkpoint, IReadOnlyDictionary<string, string> now, bool allowChanged, ILogger logger)
    {
        foreach (var (name, value) in now)
        {
            var saved = state.Settings.TryGetValue(name, out var s) ? s : "(not recorded)";
            if (saved == value)
            {
                continue;
            }

            if (allowChanged)
            {
                logger.LogWarning("Resuming from {Checkpoint} with {Setting} changed from {Saved} to {Now} (allowed by AllowChangedSettingsOnResume)",
                    checkpoint, name, saved, value);
                continue;
            }

            throw new InvalidOperationException(
                $"Cannot resume from {checkpoint}: it was made with {name} = {saved}, but this run has {value}. " +
                "Resuming exactly needs the same setting (start a fresh run in another OutputDir, or set " +
                "TrainingOptions.AllowChangedSettingsOnResume to continue with the new one on purpose).");
        }
    }
}
