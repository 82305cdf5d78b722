namespace Almost.Scoring;

/// <summary>
/// The mean and standard deviation of a reward model's raw scores over its training set, stored with the model so a
/// consumer can normalise rewards to mean 0 and standard deviation 1 (<c>(r − Mean) / Std</c>). Saved in
/// <c>config.json</c> as <c>mean</c> and <c>std</c>, the names OpenRLHF reads.
/// </summary>
/// <param name="Mean">Mean raw score.</param>
/// <param name="Std">Standard deviation of the raw scores; positive.</param>
public sealed record RewardNormalization(double Mean, double Std)
{
    /// <summary>Checks the numbers are usable: a finite mean and a finite, positive standard deviation.</summary>
    /// <param name="source">Where the numbers came from, for the message (e.g. a config path).</param>
    /// <exception cref="ArgumentException">The mean is not finite, or the standard deviation is not finite and positive.</exception>
    public void Validate(string source = "reward normalization")
    {
        if (!double.IsFinite(Mean))
        {
            throw new ArgumentException($"{source}: 'mean' is {Mean}; expected a finite number.");
        }

        if (!double.IsFinite(Std) || Std <= 0)
        {
            throw new ArgumentException($"{source}: 'std' is {Std}; expected a finite number > 0.");
        }
    }

    /// <summary>Normalises one raw score.</summary>
    /// <param name="rawScore">The model's raw score.</param>
    /// <returns><c>(rawScore − Mean) / Std</c>.</returns>
    public double Apply(double rawScore) => (rawScore - Mean) / Std;
}
