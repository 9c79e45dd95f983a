/// The one error type of the Worker module: a closed `code`, a `message` that names what and where,
/// and the underlying `cause` when there is one.
///
/// Its description reads as a sentence, so the CLI can print it as is and exit non-zero.
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; callers branch on it, people read `message`.
    public enum Code: String, Sendable {
        /// A file could not be opened, sized or mapped.
        case io
        /// A model file is malformed: bad magic, truncated, inconsistent offsets.
        case badModelFile
        /// The model file is well formed but uses something this engine does not implement
        /// (a GGUF version, a tensor type, an architecture, a hyperparameter combination).
        case unsupported
        /// A model file lacks a metadata key or tensor the engine needs, or has the wrong type.
        case missingModelData
        /// A caller passed an argument outside the documented range (token id, sequence handle).
        case invalidArgument
        /// Bad command-line or job settings for the worker.
        case configuration
        /// The backend could not serve a request.
        case backend
        /// The request was cancelled (re-dispatched elsewhere, policy abort, shutdown).
        case cancelled
        /// Transport trouble the node could not recover from.
        case transport
        /// A tool could not run.
        case tool
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed and where (file path and byte offset, metadata key, tensor name, argument).
    public var message: String
    /// The underlying error, when another layer reported the failure first.
    public var cause: (any Error & Sendable)?

    /// Makes an error; `message` should name the file, key, tensor or argument involved.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `message`, followed by the cause when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message) (caused by: \(cause))"
    }
}
