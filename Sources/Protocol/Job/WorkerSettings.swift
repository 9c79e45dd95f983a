/// The `workers:` section of job.yaml: liveness and pacing of the worker fleet.
public struct WorkerSettings: Codable, Sendable, Equatable {
    /// Heartbeat period both ways, in milliseconds.
    public var heartbeatIntervalMs: Int = 1000
    /// A peer is dead after this many missed heartbeats.
    public var heartbeatLiveness: Int = 5
    /// A request in flight longer than this (seconds) may be re-dispatched to another worker;
    /// the first result wins. 0 = never.
    public var stragglerTimeoutS: Double = 300
    /// Scripted (load-testing) backend only: simulated latency per step, in milliseconds.
    public var scriptedStepLatencyMs: Int = 0
    /// A request in flight longer than this (seconds, from its first dispatch) is cancelled and
    /// ends as `timeout`, which the job's `failures:` policy then handles. 0 = never.
    public var rolloutTimeoutS: Double = 0
    /// Scripted backend only: faults injected at these rates, deterministically for the job's seed.
    public var scriptedFaults = ScriptedFaultRates()

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case heartbeatIntervalMs = "heartbeat_interval_ms"
        case heartbeatLiveness = "heartbeat_liveness"
        case stragglerTimeoutS = "straggler_timeout_s"
        case scriptedStepLatencyMs = "scripted_step_latency_ms"
        case rolloutTimeoutS = "rollout_timeout_s"
        case scriptedFaults = "scripted_faults"
    }
}

extension WorkerSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        heartbeatIntervalMs = try map.int("heartbeat_interval_ms", default: heartbeatIntervalMs, Bounds.atLeast(10))
        heartbeatLiveness = try map.int("heartbeat_liveness", default: heartbeatLiveness, Bounds.atLeast(1))
        stragglerTimeoutS = try map.double("straggler_timeout_s", default: stragglerTimeoutS, Bounds.atLeast(0))
        scriptedStepLatencyMs = try map.int(
            "scripted_step_latency_ms", default: scriptedStepLatencyMs, Bounds.atLeast(0))
        rolloutTimeoutS = try map.double("rollout_timeout_s", default: rolloutTimeoutS, Bounds.atLeast(0))
        scriptedFaults = try ScriptedFaultRates(reading: try map.map("scripted_faults"))
        try map.rejectUnknownKeys()
    }
}
