import ArborProtocol

/// What becomes of one rollout result under the job's `failures:` settings.
public enum OutcomeDecision: Sendable, Equatable {
    /// A scored tree (`ok` or `model_error`): it reaches the learning signal.
    case score
    /// Run the request again, on another worker when one is free.
    case retry
    /// Leave the tree out of its batch.
    case drop
    /// Keep the tree's rows with weight 0, for inspection.
    case mask
}

/// The job's per-reason failure policy as a pure function: outcome and retries used in,
/// decision out. Thread-safe (a value type).
public struct OutcomePolicy: Sendable, Equatable {
    public let settings: FailureSettings

    /// The policy of `settings`.
    public init(settings: FailureSettings) {
        self.settings = settings
    }

    /// The decision for a request that ended as `outcome` after `retriesUsed` retries.
    /// `hasTree`: whether the failure carries a tree that passes the contract; a mask without one
    /// has nothing to keep and becomes a drop.
    public func decide(_ outcome: RolloutOutcome, retriesUsed: Int, hasTree: Bool) -> OutcomeDecision {
        guard !outcome.isScored else { return .score }
        let policy: FailureSettings.Policy
        switch settings.policy(for: outcome) {
        case .retry where retriesUsed < settings.maxRetries: return .retry
        case .retry: policy = settings.afterRetries == .mask ? .mask : .drop
        case let other: policy = other
        }
        return policy == .mask && hasTree ? .mask : .drop
    }
}
