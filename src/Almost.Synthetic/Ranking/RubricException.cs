namespace Almost.Synthetic.Ranking;

/// <summary>
/// A ranking rubric that cannot rank: a cycle, two configurations the rule cannot order, or a configuration name the
/// rubric does not know. The message names the configurations involved.
/// </summary>
public sealed class RubricException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the configurations.</param>
    public RubricException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public RubricException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public RubricException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
