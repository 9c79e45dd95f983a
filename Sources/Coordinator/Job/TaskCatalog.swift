import ArborProtocol

/// All task sets of a job, with task ids unique across the whole job (results are keyed by them).
public struct TaskCatalog: Sendable {
    /// One set per task type, in job.yaml order.
    public let sets: [TaskSet]
    private let locationByID: [String: (set: Int, index: Int)]

    /// Reads every task set of `config`, without the tasks `eval.task_ids` holds out for eval
    /// (they are never sampled for training). Throws `CoordinatorError` as `TaskSet.load`, for an
    /// id that two sets share (naming both lines), and for a set the held-out ids empty.
    public init(config: JobConfig) throws {
        let heldOut = Set(config.eval?.taskIDs ?? [])
        try self.init(sets: config.taskSets.map { try TaskSet.load($0).holdingOut(heldOut) })
    }

    /// A catalog of sets already read; throws when two sets share a task id.
    public init(sets: [TaskSet]) throws {
        var locationByID: [String: (set: Int, index: Int)] = [:]
        for (setIndex, set) in sets.enumerated() {
            for (index, task) in set.tasks.enumerated() {
                if let first = locationByID[task.id] {
                    let other = sets[first.set].tasks[first.index]
                    throw CoordinatorError(
                        .invalidDataset,
                        "\(task.location): field \"id\": '\(task.id)' is already the id of \(other.location)")
                }
                locationByID[task.id] = (setIndex, index)
            }
        }
        self.sets = sets
        self.locationByID = locationByID
    }

    /// The task types in job.yaml order.
    public var types: [String] { sets.map(\.type) }

    /// Tasks per type, as the sampler wants them.
    public var taskCounts: [String: Int] {
        Dictionary(uniqueKeysWithValues: sets.map { ($0.type, $0.tasks.count) })
    }

    /// Every task, set by set.
    public var allTasks: [TaskRecord] { sets.flatMap(\.tasks) }

    /// The task the sampler picked.
    public func task(_ pick: TaskPick) -> TaskRecord? {
        guard let set = sets.first(where: { $0.type == pick.type }), set.tasks.indices.contains(pick.index) else {
            return nil
        }
        return set.tasks[pick.index]
    }

    /// The task with `id`, if any.
    public subscript(id: String) -> TaskRecord? {
        locationByID[id].map { sets[$0.set].tasks[$0.index] }
    }
}
