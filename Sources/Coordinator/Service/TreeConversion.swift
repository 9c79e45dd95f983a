import ArborProtocol

/// Converts rollout trees from their wire form into the learning signal's tree record.
enum TreeConversion {
    /// The tree of one result in the tree JSON form (docs/learning-signal.md), with the token data
    /// rows are built from and the text, tool calls and format checks the viewer shows.
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
            if !isRoot {
                // What people read in the viewer and `arbor show`; the signal ignores it.
                node.text = wire.text
                node.answer = wire.isLeaf ? wire.answer : nil
                node.calls = wire.toolCalls.map {
                    .init(name: $0.name, arguments: $0.argumentsJson, ok: $0.ok, output: $0.output, error: $0.error)
                }
                node.checks = wire.formatChecks.map { .init(name: $0.name, passed: $0.passed, detail: $0.detail) }
            }
            return node
        }
        return RolloutTreeRecord(
            taskID: result.taskID, taskType: taskType, policyVersion: result.tree.policyVersions.last,
            nodes: nodes)
    }
}
