import ArborProtocol

/// Counts of how rollouts ended, for status and metrics. Owned by `CoordinatorCore`.
public struct OutcomeTally: Sendable, Equatable {
    /// Failed attempts by reason, then task type; every attempt counts (a request retried twice
    /// and then dropped counts three times).
    public private(set) var failed: [RolloutOutcome: [String: Int]] = [:]
    /// Scored trees with at least one model's bad call, by task type.
    public private(set) var modelErrors: [String: Int] = [:]
    /// Requests sent again after a failure.
    public private(set) var retried = 0
    /// Requests left out of their batch, by final reason.
    public private(set) var dropped: [RolloutOutcome: Int] = [:]
    /// Requests whose rows were kept with weight 0, by final reason.
    public private(set) var masked: [RolloutOutcome: Int] = [:]

    public init() {}

    /// A scored tree arrived.
    mutating func scored(_ outcome: RolloutOutcome, taskType: String) {
        if outcome == .modelError { modelErrors[taskType, default: 0] += 1 }
    }

    /// An attempt failed as `outcome`, and `decision` was taken.
    mutating func failed(_ outcome: RolloutOutcome, taskType: String, decision: OutcomeDecision) {
        failed[outcome, default: [:]][taskType, default: 0] += 1
        switch decision {
        case .retry: retried += 1
        case .drop: dropped[outcome, default: 0] += 1
        case .mask: masked[outcome, default: 0] += 1
        case .score: break
        }
    }

    /// Failed attempts of every reason.
    public var failedTotal: Int { failed.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
    public var droppedTotal: Int { dropped.values.reduce(0, +) }
    public var maskedTotal: Int { masked.values.reduce(0, +) }
}
