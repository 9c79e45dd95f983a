/// How eval trajectories pick their tokens.
public enum EvalDecoding: String, Codable, Sendable, CaseIterable {
    /// Temperature 0: exact argmax, so a version's eval does not depend on the sampler's luck.
    case greedy
    /// The job's `sampling:` settings, as training rollouts use them.
    case sampled
}

/// The `eval:` section of job.yaml: tasks the coordinator rolls out with every policy version
/// (version 0 at the start, then after every publish), one trajectory per task, scored and
/// written to `run_dir/eval.jsonl`. Eval trees never become training rows.
public struct EvalSettings: Codable, Sendable, Equatable {
    /// Held-out task sets, read like `task_sets:` entries (type, path, verifier, tolerance, tools).
    public var taskSets: [TaskSetSettings] = []
    /// Ids of tasks of the training sets held out for eval: they are never sampled for training.
    public var taskIDs: [String] = []
    /// Eval tasks per version, taken deterministically from the sets (types in turn, each in file
    /// order, held-out ids after them); `nil` = every eval task.
    public var tasks: Int?
    /// Greedy (temperature 0) or the job's sampling settings.
    public var decoding: EvalDecoding = .greedy

    /// No eval tasks; a starting point for tests.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case taskSets = "task_sets"
        case taskIDs = "task_ids"
        case tasks, decoding
    }
}

extension EvalSettings {
    init(reading map: JobYAMLMap) throws {
        self.init()
        for (index, item) in try map.sequence("task_sets").enumerated() {
            let setMap = try JobYAMLMap(item, path: "eval.task_sets[\(index)]", source: map.source)
            let set = try TaskSetSettings(reading: setMap)
            if taskSets.contains(where: { $0.type == set.type }) {
                throw setMap.error(
                    .inconsistent, "type", "task type '\(set.type)' appears twice in eval.task_sets; one set per type")
            }
            taskSets.append(set)
        }
        taskIDs = try map.stringList("task_ids")
        if let repeated = Self.firstRepeat(taskIDs) {
            throw map.error(.inconsistent, "task_ids", "task id '\(repeated)' is listed twice")
        }
        if taskSets.isEmpty && taskIDs.isEmpty {
            throw map.error(
                .missingKey, nil,
                "eval needs tasks: give task_sets (held-out files) and/or task_ids (tasks held out of task_sets)")
        }
        if map.node("tasks") != nil {
            tasks = try map.int("tasks", default: 1, Bounds.atLeast(1))
        }
        decoding = try map.choice("decoding", default: decoding)
        try map.rejectUnknownKeys()
    }

    private static func firstRepeat(_ ids: [String]) -> String? {
        var seen: Set<String> = []
        return ids.first { !seen.insert($0).inserted }
    }
}
