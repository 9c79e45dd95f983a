/// Why a tool call failed or a tool could not be set up: the one error type of the tools layer.
///
/// A `ToolError` raised while serving a call never escapes a rollout: `ToolExecutor` turns it into
/// a `<tool_response>` error for the model and a failed format check. It is thrown to callers
/// only when building a registry (bad corpus, MCP server that does not start).
public struct ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The closed set of failure kinds.
    public enum Code: String, Sendable, Equatable, Codable {
        /// The call text was not a well-formed `<tool_call>` (see `ToolFormatError`).
        case malformedCall = "malformed_call"
        /// No tool of that name is registered (or it is not enabled for the job).
        case unknownTool = "unknown_tool"
        /// The arguments do not satisfy the tool's JSON schema.
        case invalidArguments = "invalid_arguments"
        /// The tool ran and reported a failure (non-zero exit, exception, MCP `isError`).
        case toolFailed = "tool_failed"
        /// The call ran past its wall-clock limit and was killed.
        case timeout
        /// A sandbox limit stopped the call: CPU, memory, output size, signal.
        case limitExceeded = "limit_exceeded"
        /// The sandbox cannot run at all (no bwrap and unsandboxed not allowed, spawn failure).
        case sandboxUnavailable = "sandbox_unavailable"
        /// PruneTIR suspended this tool for the trajectory after repeated failures.
        case suspended
        /// Setting the tool up failed (corpus unreadable, MCP server did not start).
        case setup
        /// The tool's infrastructure failed while serving the call: its MCP server died or is
        /// being restarted.
        case infrastructure
    }

    /// Whether the failure is the infrastructure's, not the model's: the rollout then ends as
    /// `tool_infra_error` instead of being scored.
    public var isInfrastructure: Bool {
        switch code {
        case .sandboxUnavailable, .setup, .infrastructure: true
        default: false
        }
    }

    /// What kind of failure.
    public var code: Code
    /// What went wrong and where, as a sentence the model or the user can act on.
    public var message: String
    /// The underlying error's description, when there is one.
    public var cause: String?

    /// A tool error of `code` with `message` and an optional underlying cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause.map { String(describing: $0) }
    }

    /// "message (cause: …)".
    public var description: String {
        cause.map { "\(message) (cause: \($0))" } ?? message
    }
}
