/// The `sampling:` section of job.yaml: how workers sample tokens.
public struct SamplingSettings: Codable, Sendable, Equatable {
    /// Softmax temperature; 0 is exact argmax.
    public var temperature: Double = 1.0
    /// Nucleus mass kept, in (0, 1]; 1 = off.
    public var topP: Double = 1.0
    /// Most likely tokens kept; 0 = off.
    public var topK: Int = 0
    /// Token budget of one step (one assistant turn).
    public var maxStepTokens: Int = 256
    /// Base seed; each request's sampler seed derives from it, so a tree replays exactly.
    public var seed: UInt64 = 0

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case temperature
        case topP = "top_p"
        case topK = "top_k"
        case maxStepTokens = "max_step_tokens"
        case seed
    }
}

extension SamplingSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        temperature = try map.double("temperature", default: temperature, Bounds.atLeast(0))
        topP = try map.double("top_p", default: topP, Bounds.aboveUpTo(0, 1))
        topK = try map.int("top_k", default: topK, Bounds.atLeast(0))
        maxStepTokens = try map.int("max_step_tokens", default: maxStepTokens, Bounds.atLeast(1))
        seed = try map.uint64("seed", default: seed)
        try map.rejectUnknownKeys()
    }
}
