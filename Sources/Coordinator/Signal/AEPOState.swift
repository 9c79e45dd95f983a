import ArborProtocol

/// AEPO's state carried from batch to batch: whether negative-advantage masking is on.
///
/// Hysteresis (docs/learning-signal.md): masking turns on when the batch entropy H > `high`, off when
/// H < `low`, and otherwise keeps its state. Save it with the coordinator's durable state.
public struct AEPOState: Codable, Sendable, Equatable {
    /// Whether trajectories with A_k < 0 get weight 0.
    public var maskingOn: Bool

    /// AEPO starts off.
    public init(maskingOn: Bool = false) {
        self.maskingOn = maskingOn
    }

    /// The state after a batch of entropy `entropy` (nil = no tokens: no evidence, no change).
    func next(entropy: Double?, bounds: AEPOBounds) -> AEPOState {
        guard let entropy else { return self }
        if entropy > bounds.high { return AEPOState(maskingOn: true) }
        if entropy < bounds.low { return AEPOState(maskingOn: false) }
        return self
    }
}

/// What AEPO decided for one batch, for logs, metrics and `arbor advantages`.
public struct AEPODecision: Codable, Sendable, Equatable {
    /// `advantage.aepo` is set.
    public var enabled: Bool
    /// H: mean over trajectories of Σ entropy_sum / Σ model_tokens along the path (nats per
    /// token); nil when no trajectory has tokens.
    public var entropy: Double?
    /// The bounds in force.
    public var bounds: AEPOBounds?
    /// Masking before this batch.
    public var wasOn: Bool
    /// Masking for this batch and after it.
    public var isOn: Bool
    /// Trajectories given weight 0 by the mask.
    public var maskedTrajectories: Int

    enum CodingKeys: String, CodingKey {
        case enabled, entropy, bounds
        case wasOn = "was_on"
        case isOn = "is_on"
        case maskedTrajectories = "masked_trajectories"
    }

    /// One line for humans, e.g. `AEPO: entropy 0.383594 within [0.2, 0.45]: masking stays off`.
    public var summary: String {
        guard enabled, let bounds else { return "AEPO: off (advantage.aepo not set)" }
        let state = isOn ? "on" : "off"
        let change = wasOn == isOn ? "stays \(state)" : "turns \(state)"
        guard let entropy else { return "AEPO: no sampled tokens in the batch: masking \(change)" }
        let relation = entropy > bounds.high ? "above" : entropy < bounds.low ? "below" : "within"
        let value = (entropy * 1e6).rounded() / 1e6
        var text = "AEPO: entropy \(value) \(relation) [\(bounds.low), \(bounds.high)]: masking \(change)"
        if isOn { text += ", \(maskedTrajectories) trajectories masked" }
        return text
    }
}
