/// The `trainer:` section of job.yaml: how the coordinator serves training batches to a trainer
/// on its control socket.
public struct TrainerSettings: Codable, Sendable, Equatable {
    /// Whether the job trains: the coordinator then opens a new batch only while fewer than
    /// `batch.max_batches_in_flight` batches are open or complete-but-unpulled (backpressure), and
    /// ends only after the trainer has acknowledged every batch. A trainer that pulls during a
    /// job without it turns both on from its first pull.
    public var required = false
    /// A pulled batch not acknowledged within this many seconds is offered to the next pull again
    /// (the trainer is presumed dead).
    public var leaseTimeoutS: Double = 600

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case required
        case leaseTimeoutS = "lease_timeout_s"
    }
}

extension TrainerSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        required = try map.bool("required", default: required)
        leaseTimeoutS = try map.double("lease_timeout_s", default: leaseTimeoutS, Bounds.atLeast(1))
        try map.rejectUnknownKeys()
    }
}
