import ArborProtocol

extension WireTree {
    /// Removes dead ends: step nodes that are not leaves and kept no child when PORTool chose
    /// which candidates to keep. They lie on no trajectory, so they carry no learning signal.
    /// Node ids are renumbered densely in the original order (parents stay before children).
    public func pruningDeadEnds() -> WireTree {
        var alive = Array(repeating: true, count: nodes.count)
        var children = Array(repeating: 0, count: nodes.count)
        for node in nodes where node.parent >= 0 { children[Int(node.parent)] += 1 }
        // Removing a node can leave its parent childless; repeat until nothing changes. Nodes
        // come parents-first, so one backwards sweep settles every chain.
        for index in stride(from: nodes.count - 1, through: 1, by: -1) {
            let node = nodes[index]
            if !node.isLeaf && children[index] == 0 {
                alive[index] = false
                if node.parent >= 0 { children[Int(node.parent)] -= 1 }
            }
        }
        var newID = Array(repeating: -1, count: nodes.count)
        var pruned = self
        pruned.nodes = []
        for (index, node) in nodes.enumerated() where alive[index] {
            var copy = node
            newID[index] = pruned.nodes.count
            copy.id = UInt32(pruned.nodes.count)
            copy.parent = node.parent >= 0 ? Int32(newID[Int(node.parent)]) : -1
            pruned.nodes.append(copy)
        }
        return pruned
    }
}
