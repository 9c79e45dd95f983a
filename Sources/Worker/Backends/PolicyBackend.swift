import ArborProtocol
import Synchronization

/// Something that turns a rollout request into a whole rollout tree.
///
/// `rollout` blocks and is called on a backend thread (never the transport thread), once per
/// request, possibly for several requests at once (up to the worker's slots). Implementations
/// must be thread-safe.
public protocol PolicyBackend: Sendable {
    /// "builtin", "scripted" or "openai".
    var name: String { get }
    /// Grows the request's tree. Throws `WorkerError` (`.cancelled` when `cancellation` fired).
    func rollout(_ request: RolloutRequest, cancellation: CancellationFlag) throws -> RolloutResult
    /// Loads new policy weights; called between requests only.
    func loadPolicy(weightsPath: String) throws
    /// Takes the coordinator's job as run (job.yaml text) after each registration, before any
    /// request of that coordinator starts: tool settings, sampling defaults. Must be cheap (it
    /// runs on the transport thread); heavy set-up belongs in the first `rollout`.
    func configure(jobYAML: String) throws
}

extension PolicyBackend {
    /// Backends that need nothing from the job ignore it.
    public func configure(jobYAML: String) throws {}
}

/// A flag a backend polls between steps to notice that its request was cancelled. Thread-safe.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    /// Throws `WorkerError.cancelled` once cancelled.
    public func check() throws {
        if isCancelled { throw WorkerError(.cancelled, "request cancelled") }
    }
}
