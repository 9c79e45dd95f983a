/// How busy the engine thread has been, for `arbor bench rollout` and worker status.
public struct EngineUtilization: Sendable, Equatable {
    /// Seconds spent in engine calls: batched decode steps, prefills, forks, appends.
    public var busySeconds: Double = 0
    /// Wall-clock seconds during which at least one tree was in flight.
    public var activeSeconds: Double = 0
    /// Batched decode steps run.
    public var steps: Int = 0
    /// Rows (branches) decoded over all steps; `stepRows / steps` is the mean batch size.
    public var stepRows: Int = 0
    /// Tokens sampled (kept or not).
    public var generatedTokens: Int = 0

    /// Share of in-flight time the engine spent computing, in [0, 1]: the rest is waiting for
    /// tools and scheduling.
    public var busyShare: Double { activeSeconds > 0 ? min(1, busySeconds / activeSeconds) : 0 }
}
