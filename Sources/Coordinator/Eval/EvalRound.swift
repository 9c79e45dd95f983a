import ArborProtocol

/// The eval of one policy version while it runs: its requests, the results kept so far and the
/// requests given up. Pure value; owned by `EvalSchedule`.
public struct EvalRound: Sendable, Equatable {
    /// The policy version evaluated; every kept tree is stamped with it.
    public let version: UInt64
    /// Request ids in slot order.
    public let requestIDs: [String]
    /// Task type of every request, by request id.
    public let taskTypes: [String: String]
    public internal(set) var results: [String: RolloutResult] = [:]
    /// Requests given up after their last attempt, with the last error.
    public internal(set) var failures: [String: String] = [:]
    /// Monotonic seconds when the round opened and when its last request was answered.
    public let openedAt: Double
    public internal(set) var closedAt: Double?

    /// A round over `requests` (all of `version`), opened at `now`.
    public init(version: UInt64, requests: [RolloutRequest], now: Double) {
        self.version = version
        requestIDs = requests.map(\.requestID)
        taskTypes = Dictionary(uniqueKeysWithValues: requests.map { ($0.requestID, $0.task.taskType) })
        openedAt = now
    }

    public var isComplete: Bool { results.count + failures.count == requestIDs.count }

    /// The kept results in slot order.
    public var orderedResults: [RolloutResult] { requestIDs.compactMap { results[$0] } }
}
