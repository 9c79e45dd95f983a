import ArborProtocol
import Foundation
import Synchronization

/// `arbor bench rollout`: PORTool trees on the builtin backend with prefix sharing on and off, in
/// the same run, on a job's tree shape, sampling and tasks (the demo job by default).
///
/// For each setting a fresh backend loads the model, takes the job as a worker would
/// (`configure`), and serves the same requests — the first `tasksPerType` tasks of every task
/// set, same seeds — from `concurrency` backend threads at once, as a worker with that many slots
/// does. Reported: trees/s, generated tokens/s (every sampled token, kept or not), and the share
/// of in-flight wall time the engine thread spent computing (the rest: tools, scheduling, idle).
public struct RolloutBenchmark: Sendable {
    /// What to run.
    public struct Settings: Sendable {
        /// The job whose tree shape, sampling, tools and task sets are used.
        public var jobPath: String
        /// The GGUF model; nil = the job's `model.path`.
        public var modelPath: String?
        /// Tasks taken from the start of each task set.
        public var tasksPerType = 2
        /// Requests in flight at once (the worker's slots).
        public var concurrency = 4
        /// Engine threads.
        public var threads = 2

        /// Settings for the job at `jobPath`.
        public init(jobPath: String) { self.jobPath = jobPath }
    }

    /// The figures of one setting.
    public struct Run: Sendable, Codable, Equatable {
        /// Prefix sharing on or off.
        public var prefixSharing: Bool
        /// Trees grown.
        public var trees: Int
        /// Wall-clock seconds from the first request to the last result.
        public var wallSeconds: Double
        /// Trees per second.
        public var treesPerSecond: Double
        /// Tokens sampled (kept or not).
        public var generatedTokens: Int
        /// Generated tokens per second.
        public var tokensPerSecond: Double
        /// Engine compute time / in-flight wall time.
        public var engineBusyShare: Double
        /// Mean branches per batched decode step.
        public var meanBatchRows: Double
        /// Tool calls executed, and how many failed.
        public var toolCalls: Int
        public var toolErrors: Int
        /// Nodes (prompt + steps) in the pruned trees.
        public var nodes: Int

        enum CodingKeys: String, CodingKey {
            case prefixSharing = "prefix_sharing", trees
            case wallSeconds = "wall_s", treesPerSecond = "trees_per_s"
            case generatedTokens = "generated_tokens", tokensPerSecond = "tokens_per_s"
            case engineBusyShare = "engine_busy_share", meanBatchRows = "mean_batch_rows"
            case toolCalls = "tool_calls", toolErrors = "tool_errors", nodes
        }
    }

    /// Both settings side by side.
    public struct Report: Sendable, Codable, Equatable {
        /// Prefix sharing on.
        public var sharingOn: Run
        /// Prefix sharing off (every branch re-prefills its context).
        public var sharingOff: Run
        /// trees/s on ÷ trees/s off (target ≥ 1.5).
        public var speedup: Double
        /// The tree shape and step budget used: "n=4 f=2 T_max=2 max_step_tokens=96".
        public var shape: String
        /// Tools the job names that this build could not offer.
        public var unavailableTools: [String]

        enum CodingKeys: String, CodingKey {
            case sharingOn = "sharing_on", sharingOff = "sharing_off", speedup, shape
            case unavailableTools = "unavailable_tools"
        }

        /// One JSON object.
        public var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        }

        /// A table for people.
        public var table: String {
            func row(_ label: String, _ run: Run) -> String {
                label.padding(toLength: 12, withPad: " ", startingAt: 0) + String(
                    format: " %6d %8.1f %8.3f %10.1f %8.0f%% %6.1f %6d", run.trees, run.wallSeconds,
                    run.treesPerSecond, run.tokensPerSecond, run.engineBusyShare * 100, run.meanBatchRows, run.toolCalls)
            }
            var lines = [
                "arbor bench rollout — \(shape)",
                "setting       trees   wall s  trees/s      tok/s  eng busy  batch  tools",
                row("sharing on", sharingOn),
                row("sharing off", sharingOff),
                String(format: "speedup (trees/s on ÷ off): %.2f× (target ≥ 1.5×); engine busy with sharing on: %.0f%% (target ≥ 90%%)", speedup, sharingOn.engineBusyShare * 100),
            ]
            if !unavailableTools.isEmpty { lines.append("tools not offered: " + unavailableTools.joined(separator: "; ")) }
            return lines.joined(separator: "\n")
        }
    }

    /// What to run.
    public let settings: Settings

    /// A benchmark with `settings`.
    public init(settings: Settings) { self.settings = settings }

    /// Runs both settings; `progress` hears one line per phase. Throws `WorkerError` or
    /// `JobConfigError` when the job, its task files or the model cannot be read.
    public func run(progress: (String) -> Void = { _ in }) throws -> Report {
        let job = try JobConfig.load(path: settings.jobPath)
        let jobYAML = try job.yamlText()
        guard let modelPath = settings.modelPath ?? job.model.path else {
            throw WorkerError(.configuration, "\(settings.jobPath): model.path is not set; pass --model")
        }
        let requests = try Self.requests(job: job, perType: settings.tasksPerType)
        var runs: [Run] = []
        var unavailable: [String] = []
        for sharing in [true, false] {
            progress("prefix sharing \(sharing ? "on" : "off"): loading \(modelPath), \(requests.count) trees, \(settings.concurrency) at once")
            var options = BuiltinBackend.Options()
            options.threads = settings.threads
            options.prefixSharing = sharing
            let backend = try BuiltinBackend(modelPath: modelPath, options: options)
            try backend.configure(jobYAML: jobYAML)
            runs.append(try measure(backend, requests, sharing: sharing))
            unavailable = backend.unavailableTools
            progress(String(format: "  %.3f trees/s, %.1f tok/s", runs.last!.treesPerSecond, runs.last!.tokensPerSecond))
        }
        let shape = "n=\(job.tree.trajectories) f=\(job.tree.branching) T_max=\(job.tree.maxToolSteps) "
            + "max_step_tokens=\(job.sampling.maxStepTokens) temperature=\(job.sampling.temperature), "
            + "\(requests.count) tasks, \(settings.concurrency) in flight, \(settings.threads) engine threads"
        return Report(
            sharingOn: runs[0], sharingOff: runs[1],
            speedup: runs[1].treesPerSecond > 0 ? runs[0].treesPerSecond / runs[1].treesPerSecond : 0,
            shape: shape, unavailableTools: unavailable)
    }

    /// Serves `requests` from `concurrency` threads and measures.
    private func measure(_ backend: BuiltinBackend, _ requests: [RolloutRequest], sharing: Bool) throws -> Run {
        let queue = RequestQueue(count: requests.count)
        let group = DispatchGroup()
        let started = Date()
        for _ in 0..<max(1, settings.concurrency) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while true {
                    guard let index = queue.take() else { return }
                    queue.finish(Result { try backend.rollout(requests[index], cancellation: CancellationFlag()) })
                }
            }
        }
        group.wait()
        let wall = Date().timeIntervalSince(started)
        let trees = try queue.results()
        let usage = backend.utilization
        return Run(
            prefixSharing: sharing, trees: trees.count, wallSeconds: wall,
            treesPerSecond: Double(trees.count) / wall, generatedTokens: usage.generatedTokens,
            tokensPerSecond: Double(usage.generatedTokens) / wall, engineBusyShare: usage.busyShare,
            meanBatchRows: usage.steps > 0 ? Double(usage.stepRows) / Double(usage.steps) : 0,
            toolCalls: trees.reduce(0) { $0 + Int($1.stats.toolCalls) },
            toolErrors: trees.reduce(0) { $0 + Int($1.stats.toolErrors) },
            nodes: trees.reduce(0) { $0 + $1.tree.nodes.count })
    }

    /// The first `perType` tasks of every task set as requests, specs as the coordinator makes them.
    static func requests(job: JobConfig, perType: Int) throws -> [RolloutRequest] {
        var requests: [RolloutRequest] = []
        for set in job.taskSets {
            let text: String
            do {
                text = try String(contentsOfFile: set.path, encoding: .utf8)
            } catch {
                throw WorkerError(.io, "cannot read task set '\(set.type)' at \(set.path)", cause: error)
            }
            let lines = text.split(whereSeparator: \.isNewline).prefix(perType)
            for (number, line) in lines.enumerated() {
                guard let object = try? JSONValue.parse(String(line)).objectValue else {
                    throw WorkerError(.configuration, "\(set.path):\(number + 1): not a JSON object")
                }
                var task = TaskMessage()
                task.taskID = object["id"]?.stringValue ?? "\(set.type)-\(number + 1)"
                task.taskType = set.type
                task.prompt = object["prompt"]?.stringValue ?? ""
                task.answer = object["answer"]?.stringValue ?? object["answer"].map(\.compactText) ?? ""
                task.verifier = object["verifier"]?.stringValue ?? set.verifier.rawValue
                task.tolerance = object["tolerance"]?.numberValue ?? set.tolerance
                task.tools = object["tools"].flatMap { value -> [String]? in
                    guard case .array(let items) = value else { return nil }
                    return items.compactMap(\.stringValue)
                } ?? set.tools
                task.rawJson = String(line)
                var request = RolloutRequest()
                request.requestID = "bench-\(requests.count)"
                request.attempt = 1
                request.task = task
                var seeds = SplitMix64(seed: job.sampling.seed ^ UInt64(requests.count))
                let spec = RolloutSpec(
                    job: job, seed: seeds.next(), systemPrompt: set.systemPrompt ?? job.systemPrompt ?? "")
                request.spec = spec
                requests.append(request)
            }
        }
        return requests
    }
}

/// Hands out request indices to the benchmark's threads and collects their results. Thread-safe.
private final class RequestQueue: Sendable {
    private let count: Int
    private let next = Atomic<Int>(0)
    private let finished = Mutex<[Result<RolloutResult, WorkerError>]>([])

    init(count: Int) { self.count = count }

    /// The next request index, or nil when all are taken.
    func take() -> Int? {
        let index = next.add(1, ordering: .relaxed).oldValue
        return index < count ? index : nil
    }

    /// Records one request's outcome.
    func finish(_ outcome: Result<RolloutResult, any Error>) {
        let result = outcome.mapError { $0 as? WorkerError ?? WorkerError(.backend, "rollout failed", cause: $0) }
        finished.withLock { $0.append(result) }
    }

    /// Every result, or the first failure.
    func results() throws -> [RolloutResult] {
        try finished.withLock { $0 }.map { try $0.get() }
    }
}
