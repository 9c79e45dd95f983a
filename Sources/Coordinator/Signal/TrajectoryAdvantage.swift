import ArborProtocol

/// The trajectory-relative advantage (docs/learning-signal.md) `A_k = (r_k − mean_group r) / (σ + 1e-6)`: σ is the
/// unbiased std of the rewards of every trajectory of the same task type in the batch
/// (`task_batch`), of the tree's own trajectories (`group`), or `σ + 1e-6 := 1` (`none`).
enum TrajectoryAdvantage {
    /// Advantages of each tree's trajectories, given each tree's trajectory rewards.
    ///
    /// - Parameters:
    ///   - rewards: r_k per tree, in the tree's leaf order.
    ///   - taskTypes: each tree's task type (the `task_batch` pool).
    static func advantages(
        rewards: [[Double]], taskTypes: [String], normalize: AdvantageSettings.Normalize
    ) -> [[Double]] {
        var poolStd: [String: Double] = [:]
        if normalize == .taskBatch {
            var pools: [String: [Double]] = [:]
            for (tree, type) in taskTypes.enumerated() { pools[type, default: []].append(contentsOf: rewards[tree]) }
            poolStd = pools.mapValues(unbiasedStd)
        }
        return rewards.enumerated().map { tree, group in
            let mean = group.reduce(0, +) / Double(max(group.count, 1))
            let scale: Double
            switch normalize {
            case .taskBatch: scale = (poolStd[taskTypes[tree]] ?? 0) + 1e-6
            case .group: scale = unbiasedStd(group) + 1e-6
            case .none: scale = 1
            }
            return group.map { ($0 - mean) / scale }
        }
    }

    /// Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values.
    static func unbiasedStd(_ values: [Double]) -> Double {
        guard values.count >= 2 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }
}
