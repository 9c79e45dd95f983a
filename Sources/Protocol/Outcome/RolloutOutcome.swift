/// How a rollout ended: the closed set every rollout falls into, with the names job.yaml,
/// status and metrics use.
///
/// `ok` and `modelError` trees are scored (a model's bad call is part of what it learns from);
/// every other outcome is a failure the job's `failures:` policy retries, drops or masks.
/// Thread-safe (a value type).
public enum RolloutOutcome: String, Sendable, Codable, CaseIterable, Comparable {
    case ok
    case modelError = "model_error"
    case toolInfraError = "tool_infra_error"
    case backendError = "backend_error"
    case contractViolation = "contract_violation"
    case timeout
    case cancelled

    /// The outcomes that are failures of the rollout (everything not scored).
    public static let failures: [RolloutOutcome] = allCases.filter { !$0.isScored }

    /// Whether the tree reaches the learning signal.
    public var isScored: Bool { self == .ok || self == .modelError }

    /// The outcome as it travels on the wire.
    public var wire: Arbor_V1_RolloutOutcome {
        switch self {
        case .ok: .ok
        case .modelError: .modelError
        case .toolInfraError: .toolInfraError
        case .backendError: .backendError
        case .contractViolation: .contractViolation
        case .timeout: .timeout
        case .cancelled: .cancelled
        }
    }

    /// The outcome of a wire value; an enum value this build does not know (a newer peer) reads
    /// as a backend error rather than as success.
    public init(wire: Arbor_V1_RolloutOutcome) {
        switch wire {
        case .ok: self = .ok
        case .modelError: self = .modelError
        case .toolInfraError: self = .toolInfraError
        case .backendError: self = .backendError
        case .contractViolation: self = .contractViolation
        case .timeout: self = .timeout
        case .cancelled: self = .cancelled
        case .UNRECOGNIZED: self = .backendError
        }
    }

    public static func < (lhs: RolloutOutcome, rhs: RolloutOutcome) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
