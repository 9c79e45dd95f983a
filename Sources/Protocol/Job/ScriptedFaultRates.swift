/// `workers.scripted_faults` of job.yaml: the rates at which the scripted (load-testing) backend
/// fails on purpose, each a probability in [0, 1] per attempt.
///
/// The dice are seeded from the request's seed (itself derived from `sampling.seed`), its task
/// and its attempt number, so a job replays the same faults and a retried request rolls again.
public struct ScriptedFaultRates: Codable, Sendable, Equatable {
    /// The tree breaks the tree contract (the coordinator finds a `contract_violation`).
    public var malformedTree = 0.0
    /// One tool call fails for infrastructure reasons (`tool_infra_error`).
    public var toolInfraError = 0.0
    /// The backend throws (`backend_error`).
    public var backendError = 0.0
    /// The rollout never returns until cancelled (a `timeout` under `rollout_timeout_s`).
    public var hang = 0.0

    /// No faults.
    public init() {}

    /// Whether any rate is above zero.
    public var isActive: Bool { malformedTree > 0 || toolInfraError > 0 || backendError > 0 || hang > 0 }

    /// The rates as they travel in a `RolloutSpec`.
    public var wire: Arbor_V1_ScriptedFaults {
        var faults = Arbor_V1_ScriptedFaults()
        faults.malformedTree = malformedTree
        faults.toolInfraError = toolInfraError
        faults.backendError = backendError
        faults.hang = hang
        return faults
    }

    enum CodingKeys: String, CodingKey {
        case malformedTree = "malformed_tree"
        case toolInfraError = "tool_infra_error"
        case backendError = "backend_error"
        case hang
    }
}

extension ScriptedFaultRates {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        let probability = Bounds.within(0.0, 1.0)
        malformedTree = try map.double("malformed_tree", default: 0, probability)
        toolInfraError = try map.double("tool_infra_error", default: 0, probability)
        backendError = try map.double("backend_error", default: 0, probability)
        hang = try map.double("hang", default: 0, probability)
        try map.rejectUnknownKeys()
    }
}
