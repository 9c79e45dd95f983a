/// One batch's rollout trees as people read them: each step's text, tool calls and result,
/// format checks, step reward R(s) and fork advantage F(s); each leaf's trajectory reward and
/// advantage; and the paths to the best and the worst leaf. What `GET /api/trees` serves
/// (docs/trees.schema.json), the `/trees` page draws and `arbor show` prints.
///
/// The signal comes from `LearningSignal.score` over the whole batch file, the code path of
/// `arbor advantages`, so the two always agree. A value type; thread-safe.
public struct TreeView: Sendable {
    /// One trajectory's signal, shown at its leaf.
    public struct Trajectory: Sendable, Equatable {
        /// r_k: the outcome (OTC-scaled when set).
        public var reward: Double
        /// A_k: the trajectory advantage.
        public var advantage: Double
        /// Loss weight as `arbor advantages` computes it (AEPO masking starting off).
        public var weight: Double
    }

    /// One node: the prompt (root) or a step.
    public struct Node: Sendable {
        public var id: Int
        /// nil at the root.
        public var parent: Int?
        /// Steps from the root (the root is 0).
        public var depth: Int
        /// The step's text (the prompt at the root); "" when it cannot be shown.
        public var text: String
        /// Where `text` came from: `worker` (sent with the tree), a `TokenText.source`, or `none`.
        public var textSource: String
        public var toolCalls: [RolloutTreeRecord.ToolCall]
        /// What followed the step before the next one: the tools' answers (or the decoded
        /// context tokens of a tree without them); nil when nothing followed.
        public var toolResult: String?
        /// Fraction of format checks passed.
        public var format: Double
        public var formatChecks: [RolloutTreeRecord.FormatCheck]
        /// R(s); nil at the root.
        public var reward: Double?
        /// F(s); nil at the root.
        public var forkAdvantage: Double?
        /// Leaves only.
        public var outcome: Int?
        /// Leaves only, when the worker sent it.
        public var answer: String?
        /// Leaves only.
        public var trajectory: Trajectory?
        /// On the path from the root to the best (highest A_k) leaf.
        public var onBestPath: Bool
        /// On the path from the root to the worst (lowest A_k) leaf.
        public var onWorstPath: Bool
    }

    /// One task's tree.
    public struct Tree: Sendable {
        public var taskID: String
        public var taskType: String
        public var policyVersion: UInt64?
        /// The leaf with the highest trajectory advantage (the first in node order on ties).
        public var bestLeaf: Int
        /// The leaf with the lowest trajectory advantage (the first in node order on ties).
        public var worstLeaf: Int
        /// Root first, then in the file's node order.
        public var nodes: [Node]
    }

    /// The batch shown.
    public var batch: Int
    /// Every batch the run directory holds, ascending.
    public var batches: [Int]
    /// Every task of the batch, in file order (the picker's choices).
    public var taskIDs: [String]
    /// The trees shown: the whole batch, or the one task asked for.
    public var trees: [Tree]

    /// Builds the view of `records` (one batch file) scored as `signal`; `task` keeps one tree.
    ///
    /// - Throws: `CoordinatorError.notFound` when `task` is not in the batch;
    ///   `.invalidTree` for a tree that breaks the tree JSON contract.
    public init(
        batch: Int, batches: [Int], records: [RolloutTreeRecord], signal: BatchSignal, task: String?,
        text: TokenText?
    ) throws {
        self.batch = batch
        self.batches = batches
        taskIDs = records.map(\.taskID)
        var trees: [Tree] = []
        for (record, treeSignal) in zip(records, signal.trees) where task == nil || record.taskID == task {
            trees.append(try Self.tree(record, signal: treeSignal, text: text))
        }
        if let task, trees.isEmpty {
            throw CoordinatorError(
                .notFound, "batch \(batch) has no tree for task \(task); its tasks: \(taskIDs.joined(separator: ", "))")
        }
        self.trees = trees
    }

    private static func tree(_ record: RolloutTreeRecord, signal: TreeSignal, text: TokenText?) throws -> Tree {
        let index = try TreeIndex(record)
        let records = record.nodes
        let steps = Dictionary(signal.nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let leaves = signal.trajectories
        let trajectories = Dictionary(leaves.map { ($0.leaf, $0) }, uniquingKeysWith: { first, _ in first })
        // max(by:) and min(by:) keep the first of equal elements: ties go to the first leaf in node order.
        let best = leaves.max { $0.advantage < $1.advantage }
        let worst = leaves.min { $0.advantage < $1.advantage }
        let position = Dictionary(records.indices.map { (records[$0].id, $0) }, uniquingKeysWith: { first, _ in first })
        func pathIDs(to leaf: Int?) -> Set<Int> {
            guard let leaf, let at = position[leaf] else { return [] }
            return Set((index.path(to: at) + [index.root]).map { records[$0].id })
        }
        let bestPath = pathIDs(to: best?.leaf)
        let worstPath = pathIDs(to: worst?.leaf)

        let order = [index.root] + records.indices.filter { $0 != index.root }
        let nodes = order.map { at -> Node in
            let record = records[at]
            let isRoot = record.parent == nil
            var shown = (text: record.text ?? "", source: record.text == nil ? "none" : "worker")
            if record.text == nil, let text, let ids = record.tokenIDs, let decoded = text.decode(ids) {
                shown = (decoded, text.source)
            }
            let calls = record.calls ?? []
            var toolResult: String?
            if !calls.isEmpty {
                toolResult = calls.map { $0.ok ? $0.output : "error: \($0.error)" }.joined(separator: "\n")
            } else if !isRoot, let ids = record.contextIDs, !ids.isEmpty, let text {
                toolResult = text.decode(ids)
            }
            let step = steps[record.id]
            let trajectory = trajectories[record.id].map {
                Trajectory(reward: $0.reward, advantage: $0.advantage, weight: $0.weight)
            }
            return Node(
                id: record.id, parent: record.parent, depth: index.depth[at], text: shown.text,
                textSource: shown.source, toolCalls: calls, toolResult: toolResult, format: record.format,
                formatChecks: record.checks ?? [], reward: step?.reward, forkAdvantage: step?.forkAdvantage,
                outcome: record.outcome, answer: record.answer, trajectory: trajectory,
                onBestPath: bestPath.contains(record.id), onWorstPath: worstPath.contains(record.id))
        }
        return Tree(
            taskID: record.taskID, taskType: record.taskType, policyVersion: record.policyVersion,
            bestLeaf: best?.leaf ?? records[index.root].id, worstLeaf: worst?.leaf ?? records[index.root].id,
            nodes: nodes)
    }
}
