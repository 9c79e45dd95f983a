/// One turn of a chat, as the chat template renders it.
public struct ChatMessage: Sendable, Equatable {
    /// Who speaks.
    public enum Role: String, Sendable {
        /// Instructions; the tools block is appended to the first system message.
        case system
        /// The user.
        case user
        /// The model; `content` holds its text verbatim, `<tool_call>` tags included.
        case assistant
        /// A tool's output; rendered inside `<tool_response>` tags in a user turn (see
        /// `ChatTemplate` for why).
        case tool
    }

    /// Who speaks.
    public var role: Role
    /// The turn's text. Control-token text inside it (`<|im_end|>`) is tokenized as plain
    /// text, never as a control token, so content cannot forge turn boundaries.
    public var content: String

    /// Makes a message.
    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}
