/// The `reward:` section of job.yaml (fixed names, docs/learning-signal.md).
public struct RewardSettings: Codable, Sendable, Equatable {
    /// G of the step reward: how a step's leaves' discounted outcomes combine.
    public enum Aggregate: String, Codable, Sendable, CaseIterable {
        case mean, max
    }

    /// Trajectory reward shaping by tool use.
    public enum ToolEfficiency: String, Codable, Sendable, CaseIterable {
        /// r_k = outcome_k.
        case none
        /// OTC: correct trajectories scaled by r_tool(m_k, n).
        case otc
    }

    /// γ: discount per step between a step and its leaves, in (0, 1].
    public var gamma: Double = 0.9
    /// G: mean (default) or max over the leaves under a step.
    public var aggregate: Aggregate = .mean
    /// λ: weight of the step's format score in its reward.
    public var formatWeight: Double = 1.0
    /// `none` or `otc`.
    public var toolEfficiency: ToolEfficiency = .none

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case gamma, aggregate
        case formatWeight = "format_weight"
        case toolEfficiency = "tool_efficiency"
    }
}

extension RewardSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        gamma = try map.double("gamma", default: gamma, Bounds.aboveUpTo(0, 1))
        aggregate = try map.choice("aggregate", default: aggregate)
        formatWeight = try map.double("format_weight", default: formatWeight, Bounds.atLeast(0))
        toolEfficiency = try map.choice("tool_efficiency", default: toolEfficiency)
        try map.rejectUnknownKeys()
    }
}
