/// Why one `<tool_call>` could not be turned into a call: the parser's typed format error.
///
/// Each becomes an error `<tool_response>` to the model and a failed format check; none stops the
/// rollout.
public enum ToolFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `<tool_call></tool_call>` with nothing (or only whitespace) inside, or an empty list.
    case emptyCall
    /// The text inside the tags is not JSON; the detail says where the parser stopped.
    case invalidJSON(String)
    /// The JSON is valid but not an object or list of objects; `found` is its JSON type.
    case notAnObject(found: String)
    /// The call object has no non-empty string `name`.
    case missingName
    /// `arguments` is neither an object nor a string holding a JSON object.
    case argumentsNotObject(found: String)
    /// A `<tool_call>` was opened again before the previous one was closed.
    case unclosedTag
    /// A `</tool_call>` with no `<tool_call>` before it.
    case strayClosingTag

    /// Whether the failure is in the tags themselves rather than in a call's JSON.
    public var isTagError: Bool {
        switch self {
        case .unclosedTag, .strayClosingTag: true
        default: false
        }
    }

    /// A sentence telling the model how to fix the call.
    public var description: String {
        switch self {
        case .emptyCall:
            "empty <tool_call>: write {\"name\": TOOL, \"arguments\": {...}} inside the tags"
        case .invalidJSON(let detail):
            "the text inside <tool_call> is not valid JSON (\(detail))"
        case .notAnObject(let found):
            "a tool call must be a JSON object {\"name\": ..., \"arguments\": {...}}, not \(found)"
        case .missingName:
            "the tool call has no \"name\" string"
        case .argumentsNotObject(let found):
            "\"arguments\" must be a JSON object, not \(found)"
        case .unclosedTag:
            "<tool_call> was not closed with </tool_call> before the next <tool_call>"
        case .strayClosingTag:
            "</tool_call> appears without a matching <tool_call>"
        }
    }
}
