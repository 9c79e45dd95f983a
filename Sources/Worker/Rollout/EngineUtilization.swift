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
    /// Prompt and tool-response tokens run inside decode steps' forward passes.
    public var prefillRows: Int = 0
    /// Forward passes that ran such prefill beside decode rows: trees joining a running batch.
    public var mixedPasses: Int = 0

    /// Decode steps and their rows by the number of trees in flight during the step (index).
    public var stepsByTrees: [Int] = []
    public var stepRowsByTrees: [Int] = []

    /// Mean branches per batched decode step (0 before the first).
    public var meanBatch: Double { steps > 0 ? Double(stepRows) / Double(steps) : 0 }

    /// Mean branches per batched decode step over the steps run while at least `trees` trees
    /// were in flight (0 when there were none): the batch the engine keeps while the job is busy,
    /// without the tail where the last trees finish alone.
    public func meanBatch(whileTreesInFlight trees: Int) -> Double {
        guard trees < stepsByTrees.count else { return 0 }
        let steps = stepsByTrees[trees...].reduce(0, +)
        return steps > 0 ? Double(stepRowsByTrees[trees...].reduce(0, +)) / Double(steps) : 0
    }

    /// Counts one decode step of `rows` branches run while `trees` trees were in flight.
    mutating func countStep(rows: Int, trees: Int) {
        steps += 1
        stepRows += rows
        if stepsByTrees.count <= trees {
            stepsByTrees += Array(repeating: 0, count: trees + 1 - stepsByTrees.count)
            stepRowsByTrees += Array(repeating: 0, count: trees + 1 - stepRowsByTrees.count)
        }
        stepsByTrees[trees] += 1
        stepRowsByTrees[trees] += rows
    }

    /// Share of in-flight time the engine spent computing, in [0, 1]: the rest is waiting for
    /// tools and scheduling.
    public var busyShare: Double { activeSeconds > 0 ? min(1, busySeconds / activeSeconds) : 0 }
}
