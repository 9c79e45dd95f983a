import ArborProtocol
import Foundation

/// The step reward (docs/learning-signal.md):
/// `R(s) = G_{k∈m(s)}[γ^(T_k − t(s)) · outcome_k] + λ·(format(s) − ½)·γ^T_max`,
/// G = mean or max over the leaves under s. A step shared by several trajectories thus gets one
/// reward; siblings differ by what lies below them and by their own format.
enum StepReward {
    /// R(s) of every node of `tree`, by node index; the root's entry is 0 (it is not a step).
    static func rewards(of tree: TreeIndex, reward settings: RewardSettings, maxToolSteps: Int) -> [Double] {
        let nodes = tree.record.nodes
        let formatScale = settings.formatWeight * pow(settings.gamma, Double(maxToolSteps))
        return nodes.indices.map { index in
            guard index != tree.root else { return 0 }
            let discounted = tree.leavesUnder[index].map { leaf in
                pow(settings.gamma, Double(tree.depth[leaf] - tree.depth[index])) * Double(nodes[leaf].outcome ?? 0)
            }
            let combined: Double
            switch settings.aggregate {
            case .mean: combined = discounted.reduce(0, +) / Double(discounted.count)
            case .max: combined = discounted.max() ?? 0
            }
            return combined + formatScale * (nodes[index].format - 0.5)
        }
    }
}
