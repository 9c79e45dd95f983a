/// A rollout tree checked against the tree JSON contract, with the structure the learning signal
/// walks: depths, children, leaves, the leaves under each node and each leaf's path.
///
/// Indices are positions in `record.nodes` (input order). Checks: unique ids, one root, parents
/// exist, every node reachable from the root (no cycles), the root has children, leaves and only
/// leaves carry an outcome in {−1, 0, +1}, format in [0, 1], non-negative counts, and one
/// log-prob per sampled token when both are given. Throws `CoordinatorError.invalidTree`.
struct TreeIndex {
    let record: RolloutTreeRecord
    /// Index of the root node.
    let root: Int
    /// Parent index of each node (`nil` for the root).
    let parent: [Int?]
    /// Child indices of each node, in input order.
    let children: [[Int]]
    /// t(s): root 0, first step 1.
    let depth: [Int]
    /// Leaf indices in input order (the tree's trajectories).
    let leaves: [Int]
    /// Leaf indices under each node (m(s)); a leaf lists itself.
    let leavesUnder: [[Int]]

    init(_ record: RolloutTreeRecord) throws {
        self.record = record
        let nodes = record.nodes
        func fail(_ problem: String) -> CoordinatorError {
            CoordinatorError(.invalidTree, "tree of task '\(record.taskID)': \(problem)")
        }
        var indexOfID: [Int: Int] = [:]
        for (index, node) in nodes.enumerated() {
            if indexOfID[node.id] != nil { throw fail("node id \(node.id) appears twice") }
            indexOfID[node.id] = index
        }
        let roots = nodes.indices.filter { nodes[$0].parent == nil }
        guard roots.count == 1, let root = roots.first else {
            throw fail("needs exactly one root node (parent null), found \(roots.count)")
        }
        var parent: [Int?] = Array(repeating: nil, count: nodes.count)
        var children: [[Int]] = Array(repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            guard let parentID = node.parent else { continue }
            guard let parentIndex = indexOfID[parentID] else {
                throw fail("node \(node.id): parent \(parentID) is not a node of the tree")
            }
            parent[index] = parentIndex
            children[parentIndex].append(index)
        }
        var depth = Array(repeating: -1, count: nodes.count)
        depth[root] = 0
        var frontier = [root]
        while let index = frontier.popLast() {
            for child in children[index] {
                depth[child] = depth[index] + 1
                frontier.append(child)
            }
        }
        if let orphan = depth.firstIndex(of: -1) {
            throw fail("node \(nodes[orphan].id) is not reachable from the root (a cycle)")
        }
        guard !children[root].isEmpty else { throw fail("the root has no steps") }
        let leaves = nodes.indices.filter { children[$0].isEmpty && $0 != root }
        for (index, node) in nodes.enumerated() where index != root {
            try Self.check(node, isLeaf: children[index].isEmpty, fail: fail)
        }
        var leavesUnder: [[Int]] = Array(repeating: [], count: nodes.count)
        for leaf in leaves {
            var current: Int? = leaf
            while let index = current {
                leavesUnder[index].append(leaf)
                current = parent[index]
            }
        }
        self.root = root
        self.parent = parent
        self.children = children
        self.depth = depth
        self.leaves = leaves
        self.leavesUnder = leavesUnder
    }

    /// The step indices from the first step down to `leaf` (root excluded).
    func path(to leaf: Int) -> [Int] {
        var steps: [Int] = []
        var current: Int? = leaf
        while let index = current, index != root {
            steps.append(index)
            current = parent[index]
        }
        return steps.reversed()
    }

    private static func check(
        _ node: RolloutTreeRecord.Node, isLeaf: Bool, fail: (String) -> CoordinatorError
    ) throws {
        if isLeaf {
            guard let outcome = node.outcome else { throw fail("leaf \(node.id) has no outcome") }
            guard [-1, 0, 1].contains(outcome) else {
                throw fail("leaf \(node.id): outcome must be -1, 0 or 1, got \(outcome)")
            }
        } else if node.outcome != nil {
            throw fail("node \(node.id) has children, so it cannot carry an outcome")
        }
        guard node.format.isFinite, (0...1).contains(node.format) else {
            throw fail("node \(node.id): format must be in [0, 1], got \(node.format)")
        }
        guard node.toolCalls >= 0, node.modelTokens >= 0, node.entropySum >= 0, node.entropySum.isFinite else {
            throw fail("node \(node.id): tool_calls, model_tokens and entropy_sum must be ≥ 0")
        }
        if let tokens = node.tokenIDs, let logprobs = node.logprobs, tokens.count != logprobs.count {
            throw fail("node \(node.id): \(tokens.count) token_ids but \(logprobs.count) logprobs")
        }
    }
}
