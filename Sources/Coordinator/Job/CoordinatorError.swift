/// The one error type of the Coordinator library: a code, a message naming what and where
/// (`file:line`, field, job.yaml key, task id), and the underlying cause.
public struct CoordinatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem; a small closed set callers may switch over.
    public enum Code: String, Sendable, Equatable {
        /// A file could not be read or written.
        case io
        /// A task-set line is malformed, lacks a field, or repeats an id.
        case invalidDataset
        /// Batch settings the sampler cannot honour (e.g. a weighted type that never gets a share).
        case invalidBatch
        /// A rollout tree that breaks the tree JSON contract (missing root, cycle, outcome off a leaf…).
        case invalidTree
        /// A batch or task the run directory does not hold (the tree viewer, `arbor show`).
        case notFound
    }

    /// The kind of problem.
    public var code: Code
    /// What is wrong and where, e.g. `math.jsonl:12: field "answer": missing`.
    public var message: String
    /// The underlying error, as text.
    public var cause: String?

    /// Creates an error; see the fields.
    public init(_ code: Code, _ message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The message, then the cause in parentheses.
    public var description: String {
        cause.map { "\(message) (\($0))" } ?? message
    }
}
