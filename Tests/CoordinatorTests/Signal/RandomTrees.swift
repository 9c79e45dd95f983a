import ArborProtocol
@testable import Coordinator

/// Seeded random rollout trees for property tests.
enum RandomTrees {
    /// A tree of up to `maxDepth` steps per trajectory; nodes are shuffled so no code may rely on
    /// input order. `outcome` fixes every leaf's outcome when given.
    static func tree(
        seed: UInt64, taskType: String = "math", maxDepth: Int = 4, outcome fixed: Int? = nil,
        format fixedFormat: Double? = nil, withTokens: Bool = false
    ) -> RolloutTreeRecord {
        var generator = SplitMix64(seed: seed)
        var root = RolloutTreeRecord.Node(id: 0, parent: nil)
        if withTokens { root.tokenIDs = [1, 2, 3] }
        var nodes = [root]
        var nextID = 1
        func grow(parent: Int, depth: Int) {
            let childCount = parent == 0 ? 1 + generator.index(below: 4) : depth >= maxDepth ? 0 : generator.index(below: 3)
            if childCount == 0 && parent != 0 {
                if let index = nodes.firstIndex(where: { $0.id == parent }) {
                    nodes[index].outcome = fixed ?? (generator.index(below: 3) - 1)
                }
                return
            }
            for _ in 0..<childCount {
                let id = nextID
                nextID += 1
                let tokens = 1 + generator.index(below: 20)
                var node = RolloutTreeRecord.Node(
                    id: id, parent: parent, format: fixedFormat ?? Double(generator.index(below: 5)) / 4,
                    toolCalls: generator.index(below: 3), modelTokens: tokens,
                    entropySum: Double(generator.index(below: 100)) / 100 * Double(tokens))
                if withTokens {
                    node.tokenIDs = (0..<tokens).map { 100 + id * 50 + $0 }
                    node.logprobs = (0..<tokens).map { -Double($0 + 1) / 10 }
                    node.contextIDs = generator.index(below: 2) == 0 ? [] : [9, 9]
                    node.policyVersion = UInt64(3 + generator.index(below: 2))
                }
                nodes.append(node)
                grow(parent: id, depth: depth + 1)
            }
        }
        grow(parent: 0, depth: 0)
        generator.shuffle(&nodes)
        return RolloutTreeRecord(taskID: "t\(seed)", taskType: taskType, nodes: nodes)
    }
}
