/// The `failures:` section of job.yaml: what becomes of a rollout that fails, per reason.
///
/// ```yaml
/// failures:
///   tool_infra_error: retry   # retry | drop | mask
///   timeout: mask
///   max_retries: 2            # retries of one request before `after_retries` applies
///   after_retries: drop       # drop | mask
/// ```
/// `retry` sends the request again, to another worker when one is free, at most `max_retries`
/// times; `drop` leaves the tree out of its batch; `mask` keeps the tree's rows with weight 0
/// (for inspection; they carry no gradient). Every reason defaults to retry, then drop.
public struct FailureSettings: Encodable, Sendable, Equatable {
    /// What to do with a failed rollout.
    public enum Policy: String, Codable, Sendable, CaseIterable {
        case retry, drop, mask
    }

    /// What to do once a request's retries are used up.
    public enum Final: String, Codable, Sendable, CaseIterable {
        case drop, mask
    }

    /// The policy of each failure reason (every reason of `RolloutOutcome.failures` has one).
    public var policies: [RolloutOutcome: Policy] = Dictionary(
        uniqueKeysWithValues: RolloutOutcome.failures.map { ($0, .retry) })
    /// Retries of one request for failed outcomes, on top of its first attempt.
    public var maxRetries = 2
    /// What a request whose retries are used up becomes.
    public var afterRetries: Final = .drop

    /// Every reason retried twice, then dropped.
    public init() {}

    /// The policy of `outcome`; `retry` for reasons the section does not name.
    public func policy(for outcome: RolloutOutcome) -> Policy { policies[outcome] ?? .retry }

    /// Encodes every reason in `RolloutOutcome` order, then the retry bound, so the job as run
    /// is the same text every time.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: NameKey.self)
        for reason in RolloutOutcome.failures {
            try container.encode(policy(for: reason).rawValue, forKey: NameKey(reason.rawValue))
        }
        try container.encode(maxRetries, forKey: NameKey("max_retries"))
        try container.encode(afterRetries.rawValue, forKey: NameKey("after_retries"))
    }
}

extension FailureSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        for reason in RolloutOutcome.failures {
            policies[reason] = try map.choice(reason.rawValue, default: policy(for: reason))
        }
        maxRetries = try map.int("max_retries", default: maxRetries, Bounds.atLeast(0))
        afterRetries = try map.choice("after_retries", default: afterRetries)
        try map.rejectUnknownKeys()
    }
}
