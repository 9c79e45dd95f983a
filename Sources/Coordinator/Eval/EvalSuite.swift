import ArborProtocol
import Foundation

/// The eval tasks of a job: the held-out task sets of `eval.task_sets` and the tasks
/// `eval.task_ids` takes out of the training sets, `eval.tasks` of them picked in a fixed order,
/// and the requests that roll them out for one policy version.
///
/// The pick is the same for every version (types in turn, each in file order, so a small
/// `eval.tasks` still covers every type), which makes versions comparable task for task.
/// Thread-safe (a value type).
public struct EvalSuite: Sendable {
    /// The job the requests take their tools, step budget and sampling settings from.
    public let config: JobConfig
    /// The tasks every version is evaluated on, in request-slot order.
    public let tasks: [TaskRecord]

    /// Reads the eval sets and the training sets the held-out ids come from. Throws
    /// `CoordinatorError` naming the file and line of a bad task, or the `eval.*` key at fault.
    public init(config: JobConfig) throws {
        let settings = config.eval ?? EvalSettings()
        let training = settings.taskIDs.isEmpty ? [] : try config.taskSets.map(TaskSet.load)
        try self.init(config: config, evalSets: try settings.taskSets.map(TaskSet.load), trainingSets: training)
    }

    /// The suite of task sets already read (tests). Throws as `init(config:)`.
    public init(config: JobConfig, evalSets: [TaskSet], trainingSets: [TaskSet]) throws {
        self.config = config
        let settings = config.eval ?? EvalSettings()
        // Ids must be unique among the eval sets, and an eval set must not repeat a training
        // task: that task would be trained on and evaluated on.
        _ = try TaskCatalog(sets: evalSets)
        let trainingIDs = Dictionary(
            trainingSets.flatMap(\.tasks).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for task in evalSets.flatMap(\.tasks) {
            if let twin = trainingIDs[task.id], !settings.taskIDs.contains(task.id) {
                throw CoordinatorError(
                    .invalidDataset,
                    "\(task.location): eval task '\(task.id)' is also the training task at \(twin.location); "
                        + "give it another id, or hold it out with eval.task_ids")
            }
        }
        var groups: [(type: String, tasks: [TaskRecord])] = evalSets.map { ($0.type, $0.tasks) }
        for id in settings.taskIDs {
            guard let task = trainingIDs[id] else {
                throw CoordinatorError(.invalidDataset, "eval.task_ids: no task of task_sets has id '\(id)'")
            }
            if let index = groups.firstIndex(where: { $0.type == task.type }) {
                groups[index].tasks.append(task)
            } else {
                groups.append((task.type, [task]))
            }
        }
        let available = groups.reduce(0) { $0 + $1.tasks.count }
        let wanted = settings.tasks ?? available
        guard wanted <= available else {
            throw CoordinatorError(
                .invalidDataset,
                "eval.tasks is \(wanted) but the eval sets and task_ids hold only \(available) task(s)")
        }
        tasks = Self.interleave(groups.map(\.tasks), count: wanted)
    }

    /// The first `count` tasks taking one of each group in turn (a group that runs out drops out).
    static func interleave(_ groups: [[TaskRecord]], count: Int) -> [TaskRecord] {
        var picked: [TaskRecord] = []
        var position = 0
        while picked.count < count {
            let round = groups.compactMap { $0.indices.contains(position) ? $0[position] : nil }
            if round.isEmpty { break }
            picked += round.prefix(count - picked.count)
            position += 1
        }
        return picked
    }

    /// The eval requests of policy `version`, one per task: a single trajectory with the job's
    /// tools and step budget, decoded as `eval.decoding` says. Seeds depend on the slot only, so
    /// every version rolls out the same tasks with the same seeds.
    public func requests(version: UInt64) -> [RolloutRequest] {
        tasks.enumerated().map { slot, task in
            var request = RolloutRequest()
            request.requestID = Self.requestID(version: version, slot: slot)
            request.attempt = 1
            request.policyVersion = version
            request.task = TaskMessage(task)
            var seeds = SplitMix64(seed: config.sampling.seed ^ 0xE7A1_5EED_0000_0000 ^ UInt64(slot))
            request.spec = RolloutSpec(
                evalOf: config, seed: seeds.next(), systemPrompt: task.systemPrompt ?? config.systemPrompt ?? "")
            return request
        }
    }

    /// `eval-v<version>-<slot>`, e.g. `eval-v3-007`: never the id of a training request.
    public static func requestID(version: UInt64, slot: Int) -> String {
        let digits = "\(slot)"
        return "eval-v\(version)-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
}

extension TaskMessage {
    /// The task as a worker sees it.
    init(_ task: TaskRecord) {
        self.init()
        taskID = task.id
        taskType = task.type
        prompt = task.prompt
        answer = task.answer
        verifier = task.verifier.rawValue
        tolerance = task.tolerance
        tools = task.tools
        rawJson = task.rawJSON
    }
}
