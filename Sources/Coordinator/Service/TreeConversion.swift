import ArborProtocol

/// Converts rollout trees from their wire form into the learning signal's tree record.
enum TreeConversion {
    /// The tree of one result in DESIGN.md's JSON form, with the token data rows are built from.
    static func record(from result: RolloutResult, taskType: String) -> RolloutTreeRecord {
        let nodes = result.tree.nodes.map { wire -> RolloutTreeRecord.Node in
            let isRoot = wire.parent < 0
            var node = RolloutTreeRecord.Node(
                id: Int(wire.id),
                parent: isRoot ? nil : Int(wire.parent),
                format: Double(wire.format),
                toolCalls: wire.toolCalls.count,
                modelTokens: isRoot ? 0 : wire.tokenIds.count,
                entropySum: wire.entropies.reduce(0) { $0 + Double($1) },
                outcome: wire.isLeaf ? Int(wire.outcome) : nil)
            if isRoot { node.format = 1 }
            node.tokenIDs = wire.tokenIds.map(Int.init)
            node.logprobs = isRoot ? nil : wire.logprobs.map(Double.init)
            node.contextIDs = wire.contextIds.map(Int.init)
            node.policyVersion = isRoot ? nil : wire.policyVersion
            return node
        }
        return RolloutTreeRecord(
            taskID: result.taskID, taskType: taskType, policyVersion: result.tree.policyVersions.last,
            nodes: nodes)
    }
}
