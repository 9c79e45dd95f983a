import ArborProtocol
import Foundation
import Logging
import Synchronization

/// `arbor bench rollout`: the same PORTool job grown by the builtin engine and by the `openai`
/// backend against llama-cpp-python's server on the same GGUF, side by side (and optionally the
/// builtin engine with prefix sharing off).
///
/// Each backend takes the job as a worker would (`configure`) and serves the same requests — the
/// first `tasksPerType` tasks of every task set (default: the job's `batch.tasks`), same seeds —
/// from `concurrency` backend threads at once, as a worker with that many slots does (default:
/// the slots `arbor run` gives a builtin worker). Reported per backend: trees/s, generated
/// tokens/s (every sampled token, kept or not), the busy share (engine compute, or the server
/// holding at least one request, over the in-flight wall time) and the mean live batch (rows per
/// batched decode step; for the server, requests it decodes at once).
public struct RolloutBenchmark: Sendable {
    /// What to run.
    public struct Settings: Sendable {
        /// The job whose tree shape, sampling, tools and task sets are used.
        public var jobPath: String
        /// The GGUF model; nil = the job's `model.path`.
        public var modelPath: String?
        /// Tasks taken from the start of each task set; nil = the job's `batch.tasks`.
        public var tasksPerType: Int?
        /// Requests in flight at once (the worker's slots); nil = `BuiltinBackend.requestSlots`.
        public var concurrency: Int?
        /// Engine threads, and the server's.
        public var threads = 2
        /// Trees in flight from which a step counts as "the job is busy" for `meanBatchCrowded`.
        public var crowdedTrees = 8

        /// Settings for the job at `jobPath`.
        public init(jobPath: String) { self.jobPath = jobPath }
    }

    /// The figures of one backend.
    public struct Run: Sendable, Codable, Equatable {
        /// Trees grown.
        public var trees: Int
        /// Requests that failed (not counted in `trees`), and the first failure's message.
        public var failedTrees = 0
        public var firstFailure: String?
        /// Wall-clock seconds from the first request to the last result.
        public var wallSeconds: Double
        /// Trees grown per second (failed requests not counted).
        public var treesPerSecond: Double
        /// Tokens sampled (kept or not).
        public var generatedTokens: Int
        /// Generated tokens per second.
        public var tokensPerSecond: Double
        /// Engine compute time (builtin) or server-holding-a-request time (openai) / in-flight time.
        public var busyShare: Double
        /// Mean branches per batched decode step (builtin); mean requests the server decodes at
        /// once (openai: requests outstanding, capped by the server's parallel slots).
        public var meanBatch: Double
        /// Mean branches per decode step over the steps run while at least `Settings.crowdedTrees`
        /// trees were in flight (builtin only; nil for the server).
        public var meanBatchCrowded: Double?
        /// Tool calls executed, and how many failed.
        public var toolCalls: Int
        public var toolErrors: Int
        /// Nodes (prompt + steps) in the pruned trees.
        public var nodes: Int

        enum CodingKeys: String, CodingKey {
            case trees, failedTrees = "failed_trees", firstFailure = "first_failure"
            case wallSeconds = "wall_s", treesPerSecond = "trees_per_s"
            case generatedTokens = "generated_tokens", tokensPerSecond = "tokens_per_s"
            case busyShare = "busy_share", meanBatch = "mean_batch", meanBatchCrowded = "mean_batch_crowded"
            case toolCalls = "tool_calls", toolErrors = "tool_errors", nodes
        }
    }

    /// The backends side by side.
    public struct Report: Sendable, Codable, Equatable {
        /// The builtin engine, prefix sharing on.
        public var builtin: Run
        /// The openai backend against llama-cpp-python's server.
        public var openaiLlamacpp: Run
        /// trees/s builtin ÷ trees/s openai_llamacpp (target ≥ 2).
        public var ratio: Double
        /// The builtin engine with prefix sharing off (`--sharing-off`), else nil.
        public var builtinSharingOff: Run?
        /// The job shape and load: "n=4 f=2 T_max=2 max_step_tokens=48 …, 8 tasks, 8 in flight, 2 threads".
        public var shape: String
        /// The server's command line.
        public var server: String
        /// Tools the job names that this build could not offer.
        public var unavailableTools: [String]

        /// The figures side by side, with `ratio` given (trees/s builtin ÷ openai).
        public init(
            builtin: Run, openaiLlamacpp: Run, ratio: Double, builtinSharingOff: Run?, shape: String, server: String,
            unavailableTools: [String]
        ) {
            self.builtin = builtin
            self.openaiLlamacpp = openaiLlamacpp
            self.ratio = ratio
            self.builtinSharingOff = builtinSharingOff
            self.shape = shape
            self.server = server
            self.unavailableTools = unavailableTools
        }

        enum CodingKeys: String, CodingKey {
            case builtin, openaiLlamacpp = "openai_llamacpp", ratio, builtinSharingOff = "builtin_sharing_off"
            case shape, server, unavailableTools = "unavailable_tools"
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
                label.padding(toLength: 18, withPad: " ", startingAt: 0) + String(
                    format: " %6d %8.1f %8.3f %8.1f %8.0f%% %6.1f %6d", run.trees, run.wallSeconds,
                    run.treesPerSecond, run.tokensPerSecond, run.busyShare * 100, run.meanBatch, run.toolCalls)
                    + (run.failedTrees > 0 ? "  (\(run.failedTrees) failed: \(run.firstFailure ?? ""))" : "")
            }
            var lines = [
                "arbor bench rollout — \(shape)",
                "backend             trees   wall s  trees/s    tok/s     busy  batch  tools",
                row("builtin", builtin),
                row("openai llama.cpp", openaiLlamacpp),
            ]
            if let builtinSharingOff { lines.append(row("builtin, no share", builtinSharingOff)) }
            if let crowded = builtin.meanBatchCrowded {
                lines.append(String(format: "builtin mean live batch while the job is crowded: %.1f (target ≥ 16)", crowded))
            }
            lines.append(String(format: "ratio (trees/s builtin ÷ llama.cpp server): %.2f× (target ≥ 2×)", ratio))
            lines.append("server: \(server)")
            if !unavailableTools.isEmpty { lines.append("tools not offered: " + unavailableTools.joined(separator: "; ")) }
            return lines.joined(separator: "\n")
        }
    }

    /// The job and requests every backend serves.
    public struct Workload: Sendable {
        public let job: JobConfig
        public let jobYAML: String
        public let modelPath: String
        public let requests: [RolloutRequest]
        /// Requests in flight at once.
        public let concurrency: Int

        /// The tree shape and load, for the report.
        public var shape: String {
            "n=\(job.tree.trajectories) f=\(job.tree.branching) T_max=\(job.tree.maxToolSteps) "
                + "max_step_tokens=\(job.sampling.maxStepTokens) temperature=\(job.sampling.temperature), "
                + "\(requests.count) tasks, \(concurrency) in flight"
        }
    }

    /// What to run.
    public let settings: Settings

    /// A benchmark with `settings`.
    public init(settings: Settings) { self.settings = settings }

    /// Reads the job, its tasks and the model path. Throws `WorkerError` or `JobConfigError` when
    /// the job or its task files cannot be read.
    public func workload() throws -> Workload {
        let job = try JobConfig.load(path: settings.jobPath)
        guard let modelPath = settings.modelPath ?? job.model.path else {
            throw WorkerError(.configuration, "\(settings.jobPath): model.path is not set; pass --model")
        }
        let requests = try Self.requests(job: job, perType: settings.tasksPerType ?? job.batch.tasks)
        let concurrency = settings.concurrency
            ?? BuiltinBackend.requestSlots(trajectories: job.tree.trajectories, threads: settings.threads)
        return Workload(
            job: job, jobYAML: try job.yamlText(), modelPath: modelPath, requests: requests, concurrency: concurrency)
    }

    /// Grows the workload on a fresh builtin backend. Throws `WorkerError` when the model cannot
    /// be loaded or a tree fails.
    public func runBuiltin(_ workload: Workload, prefixSharing: Bool = true) throws -> (Run, unavailableTools: [String]) {
        var options = BuiltinBackend.Options()
        options.threads = settings.threads
        options.prefixSharing = prefixSharing
        let backend = try BuiltinBackend(modelPath: workload.modelPath, options: options)
        try backend.configure(jobYAML: workload.jobYAML)
        var run = try measure(backend, workload) {
            let usage = backend.utilization
            return (usage.generatedTokens, usage.busyShare, usage.meanBatch)
        }
        run.meanBatchCrowded = backend.utilization.meanBatch(whileTreesInFlight: settings.crowdedTrees)
        return (run, backend.unavailableTools)
    }

    /// Grows the workload on the openai backend against the llama-cpp-python server at `url`
    /// (text prompts, which that server needs). Throws `WorkerError` when a tree fails.
    public func runOpenAI(_ workload: Workload, url: String, logger: Logger) throws -> Run {
        var server = OpenAIServerSettings(url: url)
        server.promptForm = .text
        let backend = try OpenAIBackend(settings: server, modelPath: workload.modelPath, logger: logger)
        try backend.configure(jobYAML: workload.jobYAML)
        return try measure(backend, workload) {
            let usage = backend.utilization
            let occupancy = backend.occupancy.figures
            let busy = usage.activeSeconds > 0 ? min(1, occupancy.busySeconds / usage.activeSeconds) : 0
            return (usage.generatedTokens, busy, min(occupancy.meanOutstanding, Double(LlamaCppServer.parallelSlots)))
        }
    }

    /// Serves the workload's requests from `concurrency` threads and measures; `figures` reads
    /// the backend's generated tokens, busy share and mean batch afterwards.
    private func measure(
        _ backend: some PolicyBackend, _ workload: Workload,
        figures: () -> (generated: Int, busyShare: Double, meanBatch: Double)
    ) throws -> Run {
        let requests = workload.requests
        let queue = RequestQueue(count: requests.count)
        let group = DispatchGroup()
        let started = Date()
        for _ in 0..<max(1, workload.concurrency) {
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
        let (trees, failures) = queue.results()
        guard !trees.isEmpty else {
            throw failures.first ?? WorkerError(.backend, "the benchmark grew no trees")
        }
        let (generated, busyShare, meanBatch) = figures()
        return Run(
            trees: trees.count, failedTrees: failures.count, firstFailure: failures.first.map { "\($0)" },
            wallSeconds: wall, treesPerSecond: Double(trees.count) / wall,
            generatedTokens: generated, tokensPerSecond: Double(generated) / wall, busyShare: busyShare,
            meanBatch: meanBatch, meanBatchCrowded: nil,
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

    /// The trees grown and the failures, in finishing order.
    func results() -> (trees: [RolloutResult], failures: [WorkerError]) {
        var trees: [RolloutResult] = []
        var failures: [WorkerError] = []
        for outcome in finished.withLock({ $0 }) {
            switch outcome {
            case .success(let tree): trees.append(tree)
            case .failure(let error): failures.append(error)
            }
        }
        return (trees, failures)
    }
}
