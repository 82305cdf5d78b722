using System.Text.Json;
using System.Text.Json.Serialization;

namespace Almost.Data;

/// <summary>
/// One turn of a conversation, in the Hugging Face TRL <c>messages</c> convention: <c>{"role": ..., "content": ...}</c>.
/// The one message record of the SDK: chat templates format it, <see cref="ConversationRecord"/> stores it, generators
/// and self-play produce it.
/// </summary>
/// <param name="Role">Who speaks: <see cref="ChatRoles.System"/>, <see cref="ChatRoles.User"/> or <see cref="ChatRoles.Assistant"/>.</param>
/// <param name="Content">What is said, without any template markup.</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>Unknown fields of the turn (read from JSONL), preserved on a round trip; null when there are none.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>A system message (instructions or a preamble that precedes the conversation).</summary>
    /// <param name="content">The message text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage System(string content) => new(ChatRoles.System, content);

    /// <summary>A user (human) turn.</summary>
    /// <param name="content">The message text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage User(string content) => new(ChatRoles.User, content);

    /// <summary>An assistant turn.</summary>
    /// <param name="content">The message text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage Assistant(string content) => new(ChatRoles.Assistant, content);
}

/// <summary>The role names of <see cref="ChatMessage.Role"/>.</summary>
public static class ChatRoles
{
    /// <summary><c>"system"</c>.</summary>
    public const string System = "system";

    /// <summary><c>"user"</c>.</summary>
    public const string User = "user";

    /// <summary><c>"assistant"</c>.</summary>
    public const string Assistant = "assistant";
}
