/// Why the coordinator stops. Only `jobComplete` waits for every batch to be written and the
/// trainer to be done; the others stop once the workers are gone or the drain grace is over.
enum StopReason: Equatable, Sendable, CustomStringConvertible {
    /// Every batch is complete (and, with `eval:`, the last version evaluated).
    case jobComplete
    /// `shutdown(reason:)` was asked (SIGINT/SIGTERM, the CLI's `shutdown`).
    case shutdown(String)
    /// The trainer process `arbor run` started failed, or exited before acknowledging every batch.
    case trainerFailed(String)

    /// The reason as workers' `Drain` messages and the log give it.
    var description: String {
        switch self {
        case .jobComplete: "job complete"
        case .shutdown(let reason), .trainerFailed(let reason): reason
        }
    }
}
