/// Why a job file was refused: the one error type of job loading in ArborProtocol.
///
/// The message names the file and line, then the key path in job.yaml, then what is wrong and how
/// to fix it, e.g. `job.yaml:12: batch.weights.math: must be ≥ 0, got -1`.
public struct JobConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem; a small closed set callers may switch over.
    public enum Code: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The text is not valid YAML.
        case syntax
        /// A key that job.yaml does not know.
        case unknownKey
        /// A key that must be present is missing.
        case missingKey
        /// A value of the wrong type or outside its range.
        case invalidValue
        /// Keys that are valid alone but contradict each other.
        case inconsistent
    }

    /// The kind of problem.
    public var code: Code
    /// File name (as given) of the job file, or `job.yaml` for text without a file.
    public var file: String
    /// 1-based line of the offending node, when YAML marks are known.
    public var line: Int?
    /// Dotted key path, e.g. `batch.weights.math` or `task_sets[1].verifier`; empty for the file.
    public var keyPath: String
    /// What is wrong, and how to fix it.
    public var message: String
    /// The underlying error (an I/O or YAML parser error), as text.
    public var cause: String?

    /// Creates an error; see the fields for the meaning of each part.
    public init(
        _ code: Code, file: String, line: Int?, keyPath: String, message: String, cause: String? = nil
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
        self.cause = cause
    }

    /// `file:line: key.path: message (cause)`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        text += message
        if let cause { text += " (\(cause))" }
        return text
    }
}
