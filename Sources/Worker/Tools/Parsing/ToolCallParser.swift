import ArborProtocol
import Foundation

/// What the parser found in one assistant step.
public struct ParsedToolCalls: Sendable, Equatable {
    /// Each `<tool_call>` entry in order: a call, or why it is malformed. A JSON list inside one
    /// tag yields one entry per element.
    public var entries: [Result<ToolCall, ToolFormatError>]
    /// Tag-level problems that belong to no entry (a stray `</tool_call>`).
    public var tagErrors: [ToolFormatError]
    /// The step's text outside think blocks and tool calls, trimmed: the answer text of a final
    /// step.
    public var visibleText: String

    /// True when the step asked for at least one tool call (well-formed or not): the rollout
    /// continues with tool responses instead of ending with an answer.
    public var isToolStep: Bool { !entries.isEmpty }

    /// True when every tag opened is closed (a final unclosed call is tolerated: generation often
    /// stops on the closing tag) and no closing tag is stray.
    public var tagsWellFormed: Bool {
        tagErrors.isEmpty && !entries.contains { if case .failure(.unclosedTag) = $0 { true } else { false } }
    }
}

/// Parses Hermes/Qwen tool calls, `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, out
/// of an assistant step.
///
/// Tolerated: whitespace and newlines around the JSON, a JSON list of calls inside one tag, a
/// markdown code fence around the JSON, `arguments` given as a string holding a JSON object (the
/// OpenAI wire form), missing `arguments` (= `{}`), and an unclosed *final* call. Text inside
/// `<think>…</think>` is ignored (an unclosed `<think>` hides the rest of the step; a leading
/// `</think>` without an opener hides what precedes it, as Qwen3 templates open the block in the
/// prompt). Total: any input yields a `ParsedToolCalls`, never a throw or a crash.
public enum ToolCallParser {
    static let open = "<tool_call>"
    static let close = "</tool_call>"

    /// Parses `text`. Thread-safe; O(length of text) plus the JSON decoding.
    public static func parse(_ text: String) -> ParsedToolCalls {
        let visible = removingThinking(text)
        var entries: [Result<ToolCall, ToolFormatError>] = []
        var tagErrors: [ToolFormatError] = []
        var outside = ""
        var rest = visible[...]
        while !rest.isEmpty {
            let nextOpen = rest.range(of: open)
            let nextClose = rest.range(of: close)
            if let closeRange = nextClose, nextOpen.map({ closeRange.lowerBound < $0.lowerBound }) ?? true {
                tagErrors.append(.strayClosingTag)
                outside += rest[..<closeRange.lowerBound]
                rest = rest[closeRange.upperBound...]
                continue
            }
            guard let openRange = nextOpen else {
                outside += rest
                break
            }
            outside += rest[..<openRange.lowerBound]
            let body = rest[openRange.upperBound...]
            let bodyClose = body.range(of: close)
            let reopen = body.range(of: open)
            if let reopen, bodyClose.map({ reopen.lowerBound < $0.lowerBound }) ?? true {
                entries.append(.failure(.unclosedTag))
                rest = body[reopen.lowerBound...]
                continue
            }
            let content = bodyClose.map { body[..<$0.lowerBound] } ?? body
            entries += parseContent(String(content))
            rest = bodyClose.map { body[$0.upperBound...] } ?? ""
        }
        return ParsedToolCalls(
            entries: entries, tagErrors: tagErrors,
            visibleText: outside.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The text with `<think>…</think>` blocks removed.
    static func removingThinking(_ text: String) -> String {
        var rest = text[...]
        if let leadingClose = rest.range(of: "</think>"),
            rest.range(of: "<think>").map({ leadingClose.lowerBound < $0.lowerBound }) ?? true
        {
            rest = rest[leadingClose.upperBound...]
        }
        var kept = ""
        while let start = rest.range(of: "<think>") {
            kept += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].range(of: "</think>") else { return kept }
            rest = rest[end.upperBound...]
        }
        return kept + rest
    }

    /// The entries of one tag's content: one per call object.
    static func parseContent(_ raw: String) -> [Result<ToolCall, ToolFormatError>] {
        let content = strippingCodeFence(raw.trimmingCharacters(in: .whitespacesAndNewlines))
        if content.isEmpty { return [.failure(.emptyCall)] }
        let json: JSONValue
        do {
            json = try JSONValue.parse(content)
        } catch {
            return [.failure(.invalidJSON(shortDescription(of: error)))]
        }
        switch json {
        case .object(let members):
            return [call(from: members)]
        case .array(let elements):
            if elements.isEmpty { return [.failure(.emptyCall)] }
            return elements.map { element in
                guard case .object(let members) = element else {
                    return .failure(.notAnObject(found: element.typeName))
                }
                return call(from: members)
            }
        default:
            return [.failure(.notAnObject(found: json.typeName))]
        }
    }

    private static func call(from members: [String: JSONValue]) -> Result<ToolCall, ToolFormatError> {
        guard case .string(let rawName)? = members["name"] else { return .failure(.missingName) }
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { return .failure(.missingName) }
        switch members["arguments"] ?? .object([:]) {
        case .object(let arguments):
            return .success(ToolCall(name: name, arguments: arguments))
        case .null:
            return .success(ToolCall(name: name, arguments: [:]))
        case .string(let text):
            guard case .object(let arguments)? = try? JSONValue.parse(text) else {
                return .failure(.argumentsNotObject(found: "a string that is not a JSON object"))
            }
            return .success(ToolCall(name: name, arguments: arguments))
        case let other:
            return .failure(.argumentsNotObject(found: other.typeName))
        }
    }

    private static func strippingCodeFence(_ content: String) -> String {
        guard content.hasPrefix("```"), content.hasSuffix("```"), content.count >= 6 else { return content }
        var inner = content.dropFirst(3).dropLast(3)
        if let newline = inner.firstIndex(of: "\n"), inner[..<newline].allSatisfy({ $0.isLetter }) {
            inner = inner[inner.index(after: newline)...]
        }
        return inner.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func shortDescription(of error: any Error) -> String {
        var text: String
        if case DecodingError.dataCorrupted(let context) = error {
            text = context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
        } else {
            text = String(describing: error)
        }
        if text.count > 160 { text = String(text.prefix(160)) + "…" }
        return text
    }
}
