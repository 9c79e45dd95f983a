import ArborProtocol

/// The tools offered in a job, by name, in the order the prompt lists them.
///
/// Immutable once built; thread-safe. Build it from job settings with
/// `ToolRegistry.build(settings:jobDirectory:)` or directly from tools in tests.
public struct ToolRegistry: Sendable {
    /// The tools in prompt order.
    public let tools: [any Tool]
    private let byName: [String: Int]

    /// A registry of `tools`; a later tool with an already-used name replaces the earlier one's
    /// lookup but both stay listed, so callers should pass distinct names (`build` checks).
    public init(_ tools: [any Tool]) {
        self.tools = tools
        var index: [String: Int] = [:]
        for (position, tool) in tools.enumerated() { index[tool.spec.name] = position }
        byName = index
    }

    /// The tool called `name`, or nil.
    public func tool(named name: String) -> (any Tool)? {
        byName[name].map { tools[$0] }
    }

    /// The registered names in prompt order.
    public var names: [String] { tools.map(\.spec.name) }

    /// The tools' OpenAI function-format objects, in order (what an OpenAI-compatible server's
    /// `tools` field takes).
    public var openAIFunctions: [JSONValue] { tools.map(\.spec.openAIFunction) }

    /// The Hermes/Qwen tool block that the chat template places in the system prompt: the tools as
    /// JSON lines inside `<tools></tools>`, and how to call them. Empty when there are no tools.
    /// Byte-stable: keys are sorted, so every worker renders the same prompt.
    public func promptBlock() -> String {
        guard !tools.isEmpty else { return "" }
        let lines = openAIFunctions.map(\.compactText).joined(separator: "\n")
        return """
            # Tools

            You may call one or more functions to assist with the user query.

            You are provided with function signatures within <tools></tools> XML tags:
            <tools>
            \(lines)
            </tools>

            For each function call, return a json object with function name and arguments within \
            <tool_call></tool_call> XML tags:
            <tool_call>
            {"name": <function-name>, "arguments": <args-json-object>}
            </tool_call>
            """
    }
}
