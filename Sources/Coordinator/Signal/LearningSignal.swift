import ArborProtocol

/// The learning signal of one batch, as the coordinator hands it on.
public struct BatchSignal: Sendable {
    /// One entry per input tree, in input order (what `arbor advantages` writes).
    public var trees: [TreeSignal]
    /// One row per trajectory of every tree not filtered out, in input order.
    public var rows: [TrainingRow]
    /// The AEPO state to carry into the next batch.
    public var aepo: AEPOState
    /// What AEPO decided for this batch.
    public var decision: AEPODecision
    /// Task ids of the trees DAPO's zero-variance filter dropped (no rows, weight 0).
    public var filteredTaskIDs: [String]
}

/// Rewards → advantages → AEPO decision → training rows for a batch of rollout trees
/// (docs/learning-signal.md; each formula lives in the type named after it).
///
/// The same code serves the coordinator (per finished batch) and `arbor advantages`.
/// Pure and thread-safe: no I/O, no shared state; AEPO's state is passed in and returned.
public enum LearningSignal {
    /// Scores `batch` under `config`'s `tree.max_tool_steps`, `reward` and `advantage` settings.
    ///
    /// Order of work: step rewards R(s) and fork advantages F(s) per tree; trajectory rewards r_k
    /// (OTC when set); DAPO's filter (`filter_zero_variance`: trees whose r_k are all equal are
    /// dropped and left out of the `task_batch` σ); trajectory advantages A_k; the batch entropy H
    /// and AEPO's decision, applied to this batch (A_k < 0 → weight 0 while masking is on);
    /// token advantages A_k + ω·F(s); rows.
    ///
    /// - Throws: `CoordinatorError.invalidTree` for a tree that breaks the tree JSON contract.
    public static func score(batch: [RolloutTreeRecord], config: JobConfig, aepo: AEPOState) throws -> BatchSignal {
        let trees = try batch.map(TreeIndex.init)
        let maxToolSteps = config.tree.maxToolSteps
        let stepRewards = trees.map {
            StepReward.rewards(of: $0, reward: config.reward, maxToolSteps: maxToolSteps)
        }
        let forkAdvantages = trees.enumerated().map { index, tree in
            ForkAdvantage.advantages(
                of: tree, stepRewards: stepRewards[index], normalize: config.advantage.forkNormalize)
        }
        let trajectories = trees.map { trajectoryRewards(of: $0, config: config) }
        let filtered = trees.indices.map { index in
            config.advantage.filterZeroVariance && hasZeroVariance(trajectories[index].map(\.total))
        }
        let kept = trees.indices.filter { !filtered[$0] }
        let keptAdvantages = TrajectoryAdvantage.advantages(
            rewards: kept.map { trajectories[$0].map(\.total) }, taskTypes: kept.map { batch[$0].taskType },
            normalize: config.advantage.normalize)
        var advantages = trees.map { Array(repeating: 0.0, count: $0.leaves.count) }
        for (position, index) in kept.enumerated() { advantages[index] = keptAdvantages[position] }

        var decision = AEPODecision(
            enabled: config.advantage.aepo != nil, entropy: batchEntropy(trees), bounds: config.advantage.aepo,
            wasOn: aepo.maskingOn, isOn: aepo.maskingOn, maskedTrajectories: 0)
        var nextState = aepo
        if let bounds = config.advantage.aepo {
            nextState = aepo.next(entropy: decision.entropy, bounds: bounds)
            decision.isOn = nextState.maskingOn
        } else {
            nextState = AEPOState()
            decision.isOn = false
        }

        var signals: [TreeSignal] = []
        var rows: [TrainingRow] = []
        for (index, tree) in trees.enumerated() {
            let nodes = tree.record.nodes
            var signal = TreeSignal(
                taskID: tree.record.taskID,
                nodes: nodes.indices.filter { $0 != tree.root }.map {
                    .init(id: nodes[$0].id, reward: stepRewards[index][$0], forkAdvantage: forkAdvantages[index][$0])
                },
                trajectories: [])
            for (position, leaf) in tree.leaves.enumerated() {
                let path = tree.path(to: leaf)
                let advantage = advantages[index][position]
                let tokenAdvantages = path.map { advantage + config.advantage.forkWeight * forkAdvantages[index][$0] }
                var weight = 1.0
                if filtered[index] {
                    weight = 0
                } else if decision.isOn && advantage < 0 {
                    weight = 0
                    decision.maskedTrajectories += 1
                }
                signal.trajectories.append(
                    .init(
                        leaf: nodes[leaf].id, reward: trajectories[index][position].total, advantage: advantage,
                        weight: weight, tokenAdvantages: tokenAdvantages))
                guard !filtered[index] else { continue }
                var breakdown = trajectories[index][position]
                breakdown.advantage = advantage
                breakdown.stepRewards = path.map { stepRewards[index][$0] }
                breakdown.forkAdvantages = path.map { forkAdvantages[index][$0] }
                rows.append(
                    row(tree: tree, leaf: leaf, path: path, tokenAdvantages: tokenAdvantages, weight: weight,
                        reward: breakdown))
            }
            signals.append(signal)
        }
        return BatchSignal(
            trees: signals, rows: rows, aepo: nextState, decision: decision,
            filteredTaskIDs: trees.indices.filter { filtered[$0] }.map { batch[$0].taskID })
    }

    /// r_k of each leaf with its outcome, tool calls and OTC factor (advantage and per-step parts
    /// are filled in later).
    static func trajectoryRewards(of tree: TreeIndex, config: JobConfig) -> [RewardBreakdown] {
        let nodes = tree.record.nodes
        let paths = tree.leaves.map(tree.path(to:))
        let toolCalls = paths.map { $0.reduce(0) { $0 + nodes[$1].toolCalls } }
        let outcomes = tree.leaves.map { nodes[$0].outcome ?? 0 }
        let fewestCorrect = zip(outcomes, toolCalls).filter { $0.0 > 0 }.map(\.1).min()
        return tree.leaves.indices.map { position in
            var factor = 1.0
            if config.reward.toolEfficiency == .otc, outcomes[position] > 0, let fewest = fewestCorrect {
                factor = ToolEfficiencyReward.factor(
                    toolCalls: toolCalls[position], fewest: fewest, maxToolSteps: config.tree.maxToolSteps)
            }
            let path = paths[position]
            let format = path.reduce(0) { $0 + nodes[$1].format } / Double(max(path.count, 1))
            return RewardBreakdown(
                total: Double(outcomes[position]) * factor, outcome: outcomes[position],
                toolCalls: toolCalls[position], toolFactor: factor, advantage: 0, stepRewards: [],
                forkAdvantages: [], format: format)
        }
    }

    /// DAPO: a group whose rewards are all equal carries no trajectory-relative signal.
    private static func hasZeroVariance(_ rewards: [Double]) -> Bool {
        guard let low = rewards.min(), let high = rewards.max() else { return true }
        return high - low <= 1e-12
    }

    /// AEPO's H: mean over the batch's trajectories of Σ entropy_sum / Σ model_tokens along the
    /// path; trajectories without sampled tokens are left out; nil when none has any.
    static func batchEntropy(_ trees: [TreeIndex]) -> Double? {
        var ratios: [Double] = []
        for tree in trees {
            let nodes = tree.record.nodes
            for leaf in tree.leaves {
                let path = tree.path(to: leaf)
                let tokens = path.reduce(0) { $0 + nodes[$1].modelTokens }
                guard tokens > 0 else { continue }
                ratios.append(path.reduce(0) { $0 + nodes[$1].entropySum } / Double(tokens))
            }
        }
        return ratios.isEmpty ? nil : ratios.reduce(0, +) / Double(ratios.count)
    }

    /// The training row of one trajectory (layout in `TrainingRow`'s doc).
    static func row(
        tree: TreeIndex, leaf: Int, path: [Int], tokenAdvantages: [Double], weight: Double, reward: RewardBreakdown
    ) -> TrainingRow {
        let nodes = tree.record.nodes
        var row = TrainingRow(
            taskID: tree.record.taskID, taskType: tree.record.taskType, leaf: nodes[leaf].id,
            policyVersion: path.compactMap { nodes[$0].policyVersion }.min() ?? tree.record.policyVersion ?? 0,
            ids: [], mask: [], logprobs: [], advantages: [], weight: weight, reward: reward)
        func appendContext(_ ids: [Int]) {
            row.ids += ids
            row.mask += Array(repeating: 0, count: ids.count)
            row.logprobs += Array(repeating: 0, count: ids.count)
            row.advantages += Array(repeating: 0, count: ids.count)
        }
        appendContext(nodes[tree.root].tokenIDs ?? [])
        appendContext(nodes[tree.root].contextIDs ?? [])
        for (step, index) in path.enumerated() {
            let sampled = nodes[index].tokenIDs ?? []
            row.ids += sampled
            row.mask += Array(repeating: 1, count: sampled.count)
            row.logprobs += nodes[index].logprobs ?? Array(repeating: 0, count: sampled.count)
            row.advantages += Array(repeating: tokenAdvantages[step], count: sampled.count)
            appendContext(nodes[index].contextIDs ?? [])
        }
        return row
    }
}
