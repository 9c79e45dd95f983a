/// The learning signal of one tree: what `arbor advantages` writes, one JSON line per tree,
/// `{"task_id", "nodes": [{"id", "reward", "fork_advantage"}], "trajectories": [{"leaf", "reward",
/// "advantage", "weight", "token_advantages"}]}`.
public struct TreeSignal: Codable, Sendable, Equatable {
    /// A step's reward R(s) and fork-relative advantage F(s).
    public struct NodeSignal: Codable, Sendable, Equatable {
        /// The node id.
        public var id: Int
        /// R(s).
        public var reward: Double
        /// F(s).
        public var forkAdvantage: Double

        enum CodingKeys: String, CodingKey {
            case id, reward
            case forkAdvantage = "fork_advantage"
        }
    }

    /// One trajectory (root → leaf).
    public struct TrajectorySignal: Codable, Sendable, Equatable {
        /// The leaf's node id.
        public var leaf: Int
        /// r_k (the outcome, or the OTC-scaled outcome).
        public var reward: Double
        /// A_k.
        public var advantage: Double
        /// Loss weight: 0 when AEPO masks it or DAPO filtered its group, else 1.
        public var weight: Double
        /// A_k + ω·F(s) for each step s on the path, root side first.
        public var tokenAdvantages: [Double]

        enum CodingKeys: String, CodingKey {
            case leaf, reward, advantage, weight
            case tokenAdvantages = "token_advantages"
        }
    }

    /// The tree's task.
    public var taskID: String
    /// Every step (root excluded), in the tree's node order.
    public var nodes: [NodeSignal]
    /// Every trajectory, in the tree's leaf order (node order).
    public var trajectories: [TrajectorySignal]

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case nodes, trajectories
    }

    /// One JSON line (no trailing newline), keys in the documented order.
    public func jsonLine() -> String {
        let nodes = nodes.map { node -> OrderedJSON in
            .object([("id", .integer(node.id)), ("reward", .number(node.reward)),
                     ("fork_advantage", .number(node.forkAdvantage))])
        }
        let trajectories = trajectories.map { trajectory -> OrderedJSON in
            .object([
                ("leaf", .integer(trajectory.leaf)), ("reward", .number(trajectory.reward)),
                ("advantage", .number(trajectory.advantage)), ("weight", .number(trajectory.weight)),
                ("token_advantages", .numbers(trajectory.tokenAdvantages)),
            ])
        }
        return OrderedJSON.object([("task_id", .string(taskID)), ("nodes", .array(nodes)),
                                   ("trajectories", .array(trajectories))]).text
    }
}
