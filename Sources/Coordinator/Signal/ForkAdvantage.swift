import ArborProtocol

/// The fork-relative advantage (docs/learning-signal.md): for a step s whose parent has ≥ 2 children C,
/// `F(s) = R(s) − mean_{c∈C} R(c)`, optionally divided by the children's (unbiased) std + 1e-6;
/// 0 for an only child. The first steps are the root's children, so the root counts as a fork.
enum ForkAdvantage {
    /// F(s) of every node of `tree`, by node index (0 at the root), from the step rewards.
    static func advantages(
        of tree: TreeIndex, stepRewards: [Double], normalize: AdvantageSettings.ForkNormalize
    ) -> [Double] {
        var fork = Array(repeating: 0.0, count: stepRewards.count)
        for siblings in tree.children where siblings.count >= 2 {
            let rewards = siblings.map { stepRewards[$0] }
            let mean = rewards.reduce(0, +) / Double(rewards.count)
            let scale = normalize == .std ? TrajectoryAdvantage.unbiasedStd(rewards) + 1e-6 : 1
            for child in siblings { fork[child] = (stepRewards[child] - mean) / scale }
        }
        return fork
    }
}
