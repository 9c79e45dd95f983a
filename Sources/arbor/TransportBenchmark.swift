import ArborProtocol
import Coordinator
import Foundation
import Logging
import Worker

/// The measurement behind `arbor bench transport`: a scripted job through a real coordinator and
/// worker nodes over TCP loopback, then raw ZeroMQ ping-pong with the same message size.
struct TransportBenchmark {
    let requests: Int
    let workers: Int
    let slots: Int

    struct Result: Encodable {
        var requests: Int
        var messageBytes: Int
        var arbor: Figures
        var rawZeroMQ: Figures
        var ratio: Double

        struct Figures: Encodable {
            var roundTripsPerS: Double
            var p50Ms: Double
            var p99Ms: Double
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }

        var table: String {
            func row(_ name: String, _ figures: Figures) -> String {
                name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(format: "%12.0f %10.3f %10.3f", figures.roundTripsPerS, figures.p50Ms, figures.p99Ms)
            }
            return """
                transport: \(requests) requests, \(messageBytes)-byte results
                \("".padding(toLength: 24, withPad: " ", startingAt: 0))  round trips/s    p50 ms     p99 ms
                \(row("arbor (coordinator)", arbor))
                \(row("raw zeromq ping-pong", rawZeroMQ))
                arbor / raw: \(String(format: "%.2f", ratio))× (target ≥ 0.5×)
                """
        }
    }

    func run() async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let perBatch = 16
        let job = try makeJob(in: directory, batches: max(1, requests / perBatch), perBatch: perBatch)

        let logger = Logger(label: "arbor.bench")
        let service = try CoordinatorService(
            options: .init(
                config: job, runDirectory: directory.appendingPathComponent("run"), bind: "tcp://127.0.0.1:0",
                control: "tcp://127.0.0.1:0"),
            logger: logger)
        let fleet = WorkerNodes()
        let status = try await service.run { endpoints in
            for index in 0..<workers {
                let node = WorkerNode(
                    options: .init(endpoint: endpoints.workers, workerID: "bench-\(index)", slots: slots),
                    backend: ScriptedBackend(stepLatencyMilliseconds: 0), logger: logger)
                fleet.start(node)
            }
        }
        fleet.waitAll()

        let size = try sampleResultBytes(job: job)
        let raw = try RawPingPong.run(count: min(requests, 20_000), size: size)
        let rawFigures = Result.Figures(
            roundTripsPerS: Double(raw.count) / raw.reduce(0, +), p50Ms: (Percentile.of(raw, 0.5) ?? 0) * 1000,
            p99Ms: (Percentile.of(raw, 0.99) ?? 0) * 1000)
        let arbor = Result.Figures(
            // Results over the span from the first dispatch to the last result: batch files are
            // scored and written on their own thread and are not part of the round trip.
            roundTripsPerS: Double(status.counters.results) / max(status.rates.activeS, 1e-9),
            p50Ms: (status.rates.requestLatencyP50S ?? 0) * 1000, p99Ms: (status.rates.requestLatencyP99S ?? 0) * 1000)
        return Result(
            requests: status.counters.results, messageBytes: size, arbor: arbor, rawZeroMQ: rawFigures,
            ratio: arbor.roundTripsPerS / rawFigures.roundTripsPerS)
    }

    /// A scripted job over a generated task set: two trajectories, no tool steps, tiny trees.
    private func makeJob(in directory: URL, batches: Int, perBatch: Int) throws -> JobConfig {
        let tasks = (0..<256).map { #"{"id": "t\#($0)", "prompt": "What is \#($0) + 1?", "answer": "\#($0 + 1)"}"# }
        let tasksPath = directory.appendingPathComponent("tasks.jsonl")
        try tasks.joined(separator: "\n").write(to: tasksPath, atomically: true, encoding: .utf8)
        let yaml = """
            name: bench-transport
            model: {backend: scripted}
            task_sets: [{type: math, path: \(tasksPath.path), verifier: numeric}]
            tree: {trajectories: 2, branching: 1, max_tool_steps: 0}
            batch: {tasks: \(perBatch), max_batches_in_flight: 4, count: \(batches)}
            """
        return try JobConfig(yaml: yaml, file: "bench-transport.yaml")
    }

    /// The size of one scripted result frame of this job, so the raw run moves the same bytes.
    private func sampleResultBytes(job: JobConfig) throws -> Int {
        var request = RolloutRequest()
        request.requestID = "b000001-00"
        request.task.taskID = "t1"
        request.task.prompt = "What is 1 + 1?"
        request.spec.trajectories = UInt32(job.tree.trajectories)
        request.spec.branching = UInt32(job.tree.branching)
        request.spec.maxToolSteps = UInt32(job.tree.maxToolSteps)
        let result = try ScriptedBackend().rollout(request, cancellation: CancellationFlag())
        return Wire.encode(.rolloutResult(result)).count
    }
}

/// In-process worker nodes for the benchmark, each on its own threads.
final class WorkerNodes: @unchecked Sendable {
    private let group = DispatchGroup()

    func start(_ node: WorkerNode) {
        group.enter()
        Task.detached { [group] in
            _ = try? await node.run()
            group.leave()
        }
    }

    func waitAll() { _ = group.wait(timeout: .now() + 15) }
}
