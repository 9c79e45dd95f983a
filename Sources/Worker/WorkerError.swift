/// The one error type of the Worker module.
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// Bad command-line or job settings for the worker.
        case configuration
        /// The backend could not serve a request.
        case backend
        /// The request was cancelled (re-dispatched elsewhere, policy abort, shutdown).
        case cancelled
        /// Transport trouble the node could not recover from.
        case transport
        /// A model file could not be read or is not supported.
        case model
        /// A tool could not run.
        case tool
    }

    public var code: Code
    /// What failed and where.
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message): \(cause)" }
        return message
    }
}
