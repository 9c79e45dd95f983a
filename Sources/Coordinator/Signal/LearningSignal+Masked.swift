import ArborProtocol

extension LearningSignal {
    /// Rows of failed trees kept for inspection (the `mask` failure policy): one per trajectory,
    /// weight 0, every advantage 0, `failure` naming the outcome. They take no part in the batch's
    /// statistics (σ of `task_batch`, AEPO's entropy, DAPO's filter): those are computed over
    /// the scored trees only.
    ///
    /// - Throws: `CoordinatorError.invalidTree` for a tree that breaks the contract (the
    ///   coordinator only masks trees that pass it).
    public static func maskedRows(
        of trees: [RolloutTreeRecord], failures: [RolloutOutcome], config: JobConfig
    ) throws -> [TrainingRow] {
        var rows: [TrainingRow] = []
        for (position, record) in trees.enumerated() {
            let tree = try TreeIndex(record)
            let rewards = trajectoryRewards(of: tree, config: config)
            for (leafPosition, leaf) in tree.leaves.enumerated() {
                let path = tree.path(to: leaf)
                var breakdown = rewards[leafPosition]
                breakdown.stepRewards = Array(repeating: 0, count: path.count)
                breakdown.forkAdvantages = Array(repeating: 0, count: path.count)
                var masked = row(
                    tree: tree, leaf: leaf, path: path, tokenAdvantages: Array(repeating: 0, count: path.count),
                    weight: 0, reward: breakdown)
                masked.failure = failures[position].rawValue
                rows.append(masked)
            }
        }
        return rows
    }
}
