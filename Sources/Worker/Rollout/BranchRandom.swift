import Kernels

/// One generator per branch, presented to `InferenceEngine.step` as the single generator it takes.
///
/// Load-bearing because a step batch mixes branches of several trees: with one shared stream, a
/// tree's tokens would depend on which other trees happened to share its batches, and the same
/// request would not replay the same tree. The engine's sampler consumes exactly one draw per
/// non-greedy token, in batch order when the batch lists pending sequences before ready ones (it
/// runs pending tokens first); `EngineDecoder` orders each batch that way, so draw `k` belongs to
/// branch `k`. Engine thread only.
struct BranchRandom: RandomNumberGenerator {
    /// The branches' generators, in batch order; read back after the step.
    var streams: [SeededRandom]
    /// Draws so far.
    private(set) var draws = 0

    init(streams: [SeededRandom]) {
        self.streams = streams
    }

    mutating func next() -> UInt64 {
        precondition(draws < streams.count, "the sampler drew more than once per branch in one step")
        defer { draws += 1 }
        return streams[draws].next()
    }
}
