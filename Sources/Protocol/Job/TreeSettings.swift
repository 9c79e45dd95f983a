/// The `tree:` section of job.yaml: the shape of a PORTool rollout tree (fixed names, docs/learning-signal.md).
public struct TreeSettings: Codable, Sendable, Equatable {
    /// n: trajectories (leaves) per task.
    public var trajectories: Int = 8
    /// f: candidate next steps each unfinished trajectory proposes at a fork.
    public var branching: Int = 2
    /// T_max: tool steps after which a trajectory must answer; also the exponent of the format
    /// term of the step reward.
    public var maxToolSteps: Int = 4

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case trajectories, branching
        case maxToolSteps = "max_tool_steps"
    }
}

extension TreeSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        trajectories = try map.int("trajectories", default: trajectories, Bounds.atLeast(1))
        branching = try map.int("branching", default: branching, Bounds.atLeast(1))
        maxToolSteps = try map.int("max_tool_steps", default: maxToolSteps, Bounds.atLeast(0))
        try map.rejectUnknownKeys()
    }
}
