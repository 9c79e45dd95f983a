import ArborProtocol

/// A callable tool: its spec, limits and how to run one call.
///
/// Implementations are thread-safe: `ToolExecutor` calls `run` from many tasks at once, up to the
/// tool's `concurrency`. Arguments have already been validated against `spec.parameters`.
public protocol Tool: Sendable {
    /// Name, description and parameter schema shown to the model.
    var spec: ToolSpec { get }
    /// Per-call wall-clock limit and the number of calls that may run at once.
    var limits: ToolLimits { get }
    /// Runs one call. Throws `ToolError` for failures the model should see; any other error is
    /// reported as `tool_failed` with its description.
    func run(arguments: [String: JSONValue]) async throws -> String
}

/// How long one call may take and how many may run at once on a worker.
public struct ToolLimits: Sendable, Equatable {
    /// Wall-clock limit of one call, seconds. Sandboxed tools enforce it themselves (killing the
    /// process group); the executor enforces it again as a backstop with a small grace.
    public var timeoutSeconds: Double
    /// Calls of this tool running at once.
    public var concurrency: Int

    /// Limits from their two parts.
    public init(timeoutSeconds: Double, concurrency: Int) {
        self.timeoutSeconds = timeoutSeconds
        self.concurrency = max(1, concurrency)
    }
}

/// One parsed call: a tool name and its arguments object.
public struct ToolCall: Sendable, Equatable {
    /// The tool's name as the model wrote it.
    public var name: String
    /// The arguments object.
    public var arguments: [String: JSONValue]

    /// A call from its two parts.
    public init(name: String, arguments: [String: JSONValue]) {
        self.name = name
        self.arguments = arguments
    }
}

/// What one call produced: its output for the model, or the error that stopped it.
public struct ToolResult: Sendable, Equatable {
    /// The tool's name (as called; may be unknown).
    public var name: String
    /// The output text on success.
    public var output: String
    /// The failure, or nil on success.
    public var error: ToolError?
    /// Wall-clock seconds the call took inside the executor (0 when it never ran).
    public var seconds: Double

    /// A result from its parts.
    public init(name: String, output: String, error: ToolError?, seconds: Double) {
        self.name = name
        self.output = output
        self.error = error
        self.seconds = seconds
    }

    /// True when the call ran without error.
    public var ok: Bool { error == nil }

    /// The text placed inside `<tool_response>`: the output, or `Error: …` the model can act on.
    public var responseText: String {
        guard let error else { return output }
        let detail = output.isEmpty ? "" : "\n" + output
        return "Error (\(error.code.rawValue)): \(error.message)" + detail
    }
}
