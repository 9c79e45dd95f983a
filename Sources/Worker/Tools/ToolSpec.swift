import ArborProtocol

/// A tool as the model sees it: name, description and JSON-schema parameters.
///
/// This is the OpenAI function format (`{"type": "function", "function": {"name", "description",
/// "parameters"}}`), which is also what Hermes/Qwen chat templates list inside `<tools>`.
public struct ToolSpec: Sendable, Equatable {
    /// The name the model calls the tool by.
    public var name: String
    /// One or two sentences telling the model what the tool does.
    public var description: String
    /// A JSON schema of the arguments object (`{"type": "object", "properties": …}`).
    public var parameters: JSONValue

    /// A spec from its three parts.
    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// The OpenAI function-format object for this tool.
    public var openAIFunction: JSONValue {
        [
            "type": "function",
            "function": ["name": .string(name), "description": .string(description), "parameters": parameters],
        ]
    }
}
