import Foundation
import Yams

/// A job as described by `job.yaml`: model, task sets, tree shape, sampling, reward and advantage
/// settings, batches, worker pacing and tools.
///
/// Loading validates every key (errors name `file:line: key.path`), rejects unknown keys with the
/// nearest valid name, fills defaults and resolves relative paths against the job file's
/// directory. `yamlText()` writes the job as run (all defaults spelled out, paths absolute), which
/// `init(yaml:)` reads back to an equal value: the coordinator writes it to `run_dir/job.yaml` and
/// sends it to workers in `RegisterAck.job_yaml`. Thread-safe (a value type).
public struct JobConfig: Encodable, Sendable, Equatable {
    /// How much of a job a file must describe.
    public enum Requirement: Sendable, Equatable {
        /// A job that can run: a model and at least one task set.
        case full
        /// Only the learning-signal keys matter (`arbor advantages`); everything else may be
        /// absent and takes its default, but whatever is present is still checked.
        case signalOnly
    }

    /// The job's name, shown in status and metrics.
    public var name: String = "arbor-job"
    /// Run directory when the CLI gives none; resolved against the job file's directory.
    public var runDir: String?
    /// The policy backend.
    public var model = ModelSettings()
    /// One JSONL task set per task type.
    public var taskSets: [TaskSetSettings] = []
    /// n, f, T_max.
    public var tree = TreeSettings()
    /// Token sampling.
    public var sampling = SamplingSettings()
    /// γ, G, λ, tool efficiency.
    public var reward = RewardSettings()
    /// ω, normalisation, AEPO, DAPO filtering.
    public var advantage = AdvantageSettings()
    /// The task-balanced sampler's batches.
    public var batch = BatchSettings()
    /// Heartbeats, stragglers, scripted latency.
    public var workers = WorkerSettings()
    /// System prompt of every task unless its task set names one; `nil` = the backend's default.
    public var systemPrompt: String?
    /// Tools and their limits (owned by the tools layer).
    public var tools = ToolSettings()
    /// Rows sampled with a policy more than this many versions behind the current one are
    /// dropped from the trainer stream (and counted); batch files keep every row.
    public var maxStaleness: Int = 1
    /// The trainer process, backpressure and leases of the trainer stream.
    public var trainer = TrainerSettings()
    /// Evaluation of every policy version; `nil` runs none.
    public var eval: EvalSettings?
    /// What becomes of failed rollouts, per reason (retry, drop, mask).
    public var failures = FailureSettings()

    /// A job with every default (no model path, no task sets): a starting point for tests.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case name
        case runDir = "run_dir"
        case model
        case taskSets = "task_sets"
        case tree, sampling, reward, advantage, batch, workers
        case systemPrompt = "system_prompt"
        case tools
        case maxStaleness = "max_staleness"
        case trainer
        case eval
        case failures
    }

    /// The task types of the job's task sets, in file order.
    public var taskTypes: [String] { taskSets.map(\.type) }

    /// Reads and validates the job file at `path`.
    ///
    /// Throws `JobConfigError` naming the file, line and key of the first problem.
    public static func load(path: String, requirement: Requirement = .full) throws -> JobConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw JobConfigError(
                .unreadable, file: path, line: nil, keyPath: "", message: "cannot read the job file",
                cause: "\(error)")
        }
        return try JobConfig(
            yaml: text, file: path, baseDirectory: url.deletingLastPathComponent(), requirement: requirement)
    }

    /// Parses job YAML text.
    ///
    /// - Parameters:
    ///   - file: the name errors show.
    ///   - baseDirectory: relative paths resolve against it; `nil` keeps them as written (the job
    ///     as run already holds absolute paths).
    /// - Throws: `JobConfigError`.
    public init(
        yaml: String, file: String = "job.yaml", baseDirectory: URL? = nil, requirement: Requirement = .full
    ) throws {
        let source = JobSource(file: file, baseDirectory: baseDirectory)
        let root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(Node.Mapping([]))
        } catch let error as YamlError {
            throw JobConfigError(
                .syntax, file: file, line: Self.line(of: error), keyPath: "", message: "not valid YAML",
                cause: "\(error)".trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try self.init(reading: try JobYAMLMap(root, path: "", source: source), requirement: requirement)
    }

    /// The job as YAML text: every key with its value, defaults included; reads back equal.
    ///
    /// Numbers are written in Swift's shortest round-trip form (`0.9`, `1e-06`) rather than the
    /// encoder's `9e-1`, so the job as run reads like the file a person wrote.
    public func yamlText() throws -> String {
        let encoded = try YAMLEncoder().encode(self)
        guard let node = try Yams.compose(yaml: encoded) else { return encoded }
        return try Yams.serialize(node: Self.plainNumbers(node))
    }

    private static func plainNumbers(_ node: Node) -> Node {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain, node.int == nil, let value = node.float, value.isFinite else { return node }
            return Node("\(value)")
        case .mapping(let mapping):
            return Node(mapping.map { ($0.key, plainNumbers($0.value)) }, mapping.tag, mapping.style)
        case .sequence(let sequence):
            return Node(sequence.map(plainNumbers), sequence.tag, sequence.style)
        case .alias:
            return node
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }
}

extension JobConfig {
    init(reading root: JobYAMLMap, requirement: Requirement) throws {
        self.init()
        name = try root.string("name", default: name)
        runDir = try root.optionalString("run_dir").map(root.source.resolve)
        if requirement == .full, root.node("model") == nil {
            throw root.error(.missingKey, "model", "is required, e.g. model: {backend: builtin, path: model.gguf}")
        }
        model = try ModelSettings(reading: try root.map("model"), requirement: requirement)
        taskSets = try Self.readTaskSets(root, requirement: requirement)
        tree = try TreeSettings(reading: try root.map("tree"))
        sampling = try SamplingSettings(reading: try root.map("sampling"))
        reward = try RewardSettings(reading: try root.map("reward"))
        advantage = try AdvantageSettings(reading: try root.map("advantage"))
        batch = try BatchSettings(reading: try root.map("batch"))
        workers = try WorkerSettings(reading: try root.map("workers"))
        systemPrompt = try root.optionalString("system_prompt")
        tools = try Self.readTools(root)
        maxStaleness = try root.int("max_staleness", default: maxStaleness, Bounds.atLeast(0))
        trainer = try TrainerSettings(reading: try root.map("trainer"))
        eval = try root.map("eval").map(EvalSettings.init(reading:))
        failures = try FailureSettings(reading: try root.map("failures"))
        try root.rejectUnknownKeys()
        try checkWeights(root)
    }

    private static func readTaskSets(_ root: JobYAMLMap, requirement: Requirement) throws -> [TaskSetSettings] {
        let items = try root.sequence("task_sets")
        if items.isEmpty, requirement == .full {
            throw root.error(.missingKey, "task_sets", "at least one task set is required ({type, path})")
        }
        var sets: [TaskSetSettings] = []
        for (index, item) in items.enumerated() {
            let map = try JobYAMLMap(item, path: "task_sets[\(index)]", source: root.source)
            let set = try TaskSetSettings(reading: map)
            if sets.contains(where: { $0.type == set.type }) {
                throw map.error(.inconsistent, "type", "task type '\(set.type)' appears twice; one task set per type")
            }
            sets.append(set)
        }
        return sets
    }

    /// Weights must name existing task types, and name all of them when given at all.
    private func checkWeights(_ root: JobYAMLMap) throws {
        guard !batch.weights.isEmpty, !taskSets.isEmpty, let weights = try root.map("batch")?.map("weights") else {
            return
        }
        let types = taskTypes
        for type in weights.presentKeys where !types.contains(type) {
            var message = "no task set has type '\(type)'"
            if let near = Suggestion.nearest(to: type, among: types) { message += "; did you mean '\(near)'?" }
            throw weights.error(.inconsistent, type, message)
        }
        for type in types where batch.weights[type] == nil {
            throw weights.error(
                .missingKey, nil, "task type '\(type)' has no weight; give every type one (0 leaves it out)")
        }
    }
}
