/// The `advantage:` section of job.yaml (fixed names, docs/learning-signal.md).
public struct AdvantageSettings: Codable, Sendable, Equatable {
    /// Which trajectories share the σ of the trajectory-relative advantage.
    public enum Normalize: String, Codable, Sendable, CaseIterable {
        /// σ over all trajectories of the same task type in the batch (default).
        case taskBatch = "task_batch"
        /// σ over the tree's own trajectories (GRPO).
        case group
        /// No division: σ + 1e-6 := 1 (plain centring).
        case none
    }

    /// Whether fork-relative advantages are divided by the siblings' std.
    public enum ForkNormalize: String, Codable, Sendable, CaseIterable {
        case none, std
    }

    /// ω: weight of the fork-relative advantage in each token's advantage.
    public var forkWeight: Double = 1.0
    /// `task_batch`, `group` or `none`.
    public var normalize: Normalize = .taskBatch
    /// `none` or `std`.
    public var forkNormalize: ForkNormalize = .none
    /// AEPO entropy bounds; `nil` (key omitted) turns AEPO off.
    public var aepo: AEPOBounds?
    /// DAPO: trees whose trajectory rewards are all equal give no training rows.
    public var filterZeroVariance: Bool = false

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case forkWeight = "fork_weight"
        case normalize
        case forkNormalize = "fork_normalize"
        case aepo
        case filterZeroVariance = "filter_zero_variance"
    }
}

/// AEPO's hysteresis bounds on the batch's mean per-token entropy (nats).
public struct AEPOBounds: Codable, Sendable, Equatable {
    /// Masking turns off when the batch entropy falls below this.
    public var low: Double
    /// Masking turns on when the batch entropy rises above this.
    public var high: Double

    /// Bounds with `low ≤ high`.
    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}

extension AdvantageSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        forkWeight = try map.double("fork_weight", default: forkWeight, Bounds.atLeast(0))
        normalize = try map.choice("normalize", default: normalize)
        forkNormalize = try map.choice("fork_normalize", default: forkNormalize)
        if let bounds = try map.map("aepo") {
            guard let low = try bounds.optionalDouble("low") else {
                throw bounds.error(.missingKey, "low", "is required when aepo is set")
            }
            guard let high = try bounds.optionalDouble("high") else {
                throw bounds.error(.missingKey, "high", "is required when aepo is set")
            }
            try bounds.rejectUnknownKeys()
            if low < 0 { throw bounds.error(.invalidValue, "low", "must be ≥ 0, got \(low)") }
            if high < low {
                throw bounds.error(.inconsistent, "high", "must be ≥ aepo.low (\(low)), got \(high)")
            }
            aepo = AEPOBounds(low: low, high: high)
        }
        filterZeroVariance = try map.bool("filter_zero_variance", default: filterZeroVariance)
        try map.rejectUnknownKeys()
    }
}
