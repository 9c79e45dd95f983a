/// Which candidate steps a PORTool tree keeps at each round (docs/learning-signal.md, "Tree rollout").
///
/// Step 1 samples `n` first steps. At each later round the finished trajectories (`n_c`) are set
/// aside, every unfinished trajectory proposes up to `f` candidates from its shared prefix, and
/// `n − n_c` of all candidates are kept uniformly at random — so some parents fork and some are
/// pruned. Pure and seeded: the same generator state keeps the same candidates.
public struct PORToolSchedule: Sendable {
    /// n: trajectories per task.
    public var trajectories: Int
    /// f: candidate next steps per unfinished trajectory.
    public var branching: Int
    /// T_max: tool steps before the tree stops.
    public var maxToolSteps: Int

    public init(trajectories: Int, branching: Int, maxToolSteps: Int) {
        self.trajectories = max(1, trajectories)
        self.branching = max(1, branching)
        self.maxToolSteps = max(0, maxToolSteps)
    }

    /// How many candidates each live trajectory proposes in a round after the first.
    public var candidatesPerTrajectory: Int { branching }

    /// Picks which of `candidateCount` candidates to keep when `finished` trajectories are done:
    /// `n − n_c` of them uniformly at random (all when there are fewer). Returns sorted indices.
    public func keep<G: RandomNumberGenerator>(candidateCount: Int, finished: Int, using generator: inout G) -> [Int] {
        let wanted = max(0, trajectories - finished)
        if candidateCount <= wanted { return Array(0..<candidateCount) }
        var indices = Array(0..<candidateCount)
        // Partial Fisher–Yates: the first `wanted` slots end up a uniform random subset.
        for slot in 0..<wanted {
            let pick = slot + Int(generator.next() % UInt64(candidateCount - slot))
            indices.swapAt(slot, pick)
        }
        return indices[0..<wanted].sorted()
    }

    /// Whether a step at `depth` (first step = 1) may still call tools: the tree allows `T_max`
    /// tool steps, and the step after the last one must answer.
    public func toolsAllowed(atDepth depth: Int) -> Bool { depth <= maxToolSteps }
}
