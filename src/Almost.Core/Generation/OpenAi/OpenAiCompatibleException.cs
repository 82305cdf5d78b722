namespace Almost.Generation.OpenAi;

/// <summary>
/// An OpenAI-compatible server did not give a usable answer: the retry budget ran out, the server refused the request
/// (a 4xx other than 408/429), or the response was not in the OpenAI format.
/// </summary>
public sealed class OpenAiCompatibleException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong; names the endpoint, never the API key.</param>
    /// <param name="endpoint">The URL that was called.</param>
    /// <param name="statusCode">The last HTTP status code, or null when no response came (connection error, timeout).</param>
    /// <param name="attempts">How many attempts were made.</param>
    /// <param name="innerException">The last attempt's exception, if any.</param>
    public OpenAiCompatibleException(string message, Uri endpoint, int? statusCode, int attempts, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        StatusCode = statusCode;
        Attempts = attempts;
    }

    /// <summary>The URL that was called.</summary>
    public Uri Endpoint { get; }

    /// <summary>The last HTTP status code, or null when the last attempt got no response.</summary>
    public int? StatusCode { get; }

    /// <summary>How many attempts were made before giving up.</summary>
    public int Attempts { get; }
}
