import ArborProtocol

/// The `calculator` tool: exact rational arithmetic on an expression (see `ArithmeticParser`).
///
/// Thread-safe and pure; runs inline on the caller's task (it is microseconds of work).
public struct CalculatorTool: Tool {
    /// Name, description and `{"expression": string}` schema.
    public let spec = ToolSpec(
        name: "calculator",
        description: "Evaluate an arithmetic expression exactly (fractions stay exact). Supports + - * / ^, "
            + "parentheses, decimals and sqrt, abs, floor, ceil, min, max.",
        parameters: [
            "type": "object",
            "properties": ["expression": ["type": "string", "description": "For example (2/3 + 1/6) * 12^2"]],
            "required": ["expression"],
            "additionalProperties": false,
        ])
    /// From `tools.calculator`.
    public let limits: ToolLimits

    /// A calculator with the limits of `settings`.
    public init(settings: CalculatorToolSettings = CalculatorToolSettings()) {
        limits = ToolLimits(timeoutSeconds: settings.timeoutSeconds, concurrency: settings.concurrency)
    }

    /// The value of `arguments["expression"]`: "42", "0.375", "7/3 ≈ 2.33333333333" or "≈ 1.41421356237".
    public func run(arguments: [String: JSONValue]) async throws -> String {
        guard let expression = arguments["expression"]?.stringValue else {
            throw ToolError(.invalidArguments, "calculator needs an 'expression' string")
        }
        return try ArithmeticParser.evaluate(expression).text
    }
}
