import Foundation
import TestSupport

/// A coordinator and workers as real `arbor` processes on loopback ports chosen at run time.
/// Everything it starts is killed when it goes away.
final class LocalCluster: @unchecked Sendable {
    let directory: URL
    let runDirectory: URL
    private(set) var coordinator: ChildProcess
    let jobPath: String
    /// Earlier coordinator processes (killed by `restartCoordinator`), kept for their logs.
    private(set) var previousCoordinators: [ChildProcess] = []
    let workerEndpoint: String
    let controlEndpoint: String
    private(set) var workers: [ChildProcess] = []
    /// Appended to every coordinator command line, restarts included (CURVE key files).
    private let coordinatorArguments: [String]
    /// The command the coordinator runs under (`ip netns exec NAME`); empty: directly.
    private let coordinatorLauncher: [String]

    /// Writes a job over the example task sets (scripted unless `model` says otherwise) and
    /// starts its coordinator; `workerYAML` adds keys to the `workers:` mapping, and
    /// `coordinatorArguments` are appended to its command line (CURVE key files). `launcher` runs
    /// the coordinator under another command (`ip netns exec NAME`), and `bindHost` is the address
    /// its worker socket binds.
    init(
        batches: Int, tasksPerBatch: Int = 8, stepLatencyMs: Int = 0, model: String = "{backend: scripted}",
        extraYAML: String = "", workerYAML: String = "", coordinatorArguments: [String] = [],
        launcher: [String] = [], bindHost: String = "127.0.0.1"
    ) throws {
        self.coordinatorArguments = coordinatorArguments
        coordinatorLauncher = launcher
        directory = Fixtures.temporaryDirectory("arbor-cluster")
        runDirectory = directory.appendingPathComponent("run")
        let examples = Fixtures.packageRoot.appendingPathComponent("examples").path
        let job = """
            name: integration
            model: \(model)
            task_sets:
              - {type: math, path: \(examples)/tasks/math.jsonl, verifier: numeric, tools: [calculator]}
              - {type: search_qa, path: \(examples)/tasks/search_qa.jsonl, verifier: contains, tools: [search]}
            tree: {trajectories: 4, branching: 2, max_tool_steps: 2}
            batch: {tasks: \(tasksPerBatch), weights: {math: 1, search_qa: 1}, max_batches_in_flight: 2, seed: 7, count: \(batches)}
            workers: {heartbeat_interval_ms: 200, heartbeat_liveness: 5, scripted_step_latency_ms: \(stepLatencyMs)\(workerYAML.isEmpty ? "" : ", " + workerYAML)}
            \(extraYAML)
            """
        jobPath = directory.appendingPathComponent("job.yaml").path
        try job.write(toFile: jobPath, atomically: true, encoding: .utf8)
        coordinator = try Self.arbor(
            launcher,
            ["coordinator", "--config", jobPath, "--run-dir", runDirectory.path,
             "--bind", "tcp://\(bindHost):0", "--control", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"]
                + coordinatorArguments)
        guard let workers = coordinator.waitForLine(containing: "workers: tcp://", timeout: 30),
              let control = coordinator.waitForLine(containing: "control: tcp://", timeout: 5)
        else {
            throw ClusterError(message: "coordinator did not start:\n\(coordinator.text)")
        }
        workerEndpoint = String(workers.split(separator: " ").last!)
        controlEndpoint = String(control.split(separator: " ").last!)
    }

    /// Kills the coordinator (`kill -9`) and starts a new one on the same run directory and ports.
    func restartCoordinator() throws {
        coordinator.signal(SIGKILL)
        _ = coordinator.waitForExit(timeout: 10)
        previousCoordinators.append(coordinator)
        coordinator = try Self.arbor(
            coordinatorLauncher,
            ["coordinator", "--config", jobPath, "--run-dir", runDirectory.path,
             "--bind", workerEndpoint, "--control", controlEndpoint] + coordinatorArguments)
        guard coordinator.waitForLine(containing: "workers: tcp://", timeout: 30) != nil else {
            throw ClusterError(message: "restarted coordinator did not start:\n\(coordinator.text)")
        }
    }

    /// Every log line of every coordinator process of this cluster.
    var coordinatorLog: String {
        (previousCoordinators + [coordinator]).map(\.text).joined(separator: "\n")
    }

    deinit {
        for worker in workers { worker.stop() }
        coordinator.stop()
        for old in previousCoordinators { old.stop() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// `arbor` with `arguments`, under `launcher` when it is not empty.
    static func arbor(_ launcher: [String], _ arguments: [String]) throws -> ChildProcess {
        guard let command = launcher.first else { return try ChildProcess(Fixtures.arborBinary, arguments) }
        return try ChildProcess(command, Array(launcher.dropFirst()) + [Fixtures.arborBinary] + arguments)
    }

    /// Starts an `arbor worker` (scripted backend unless `backend` says otherwise);
    /// `extraArguments` are appended. `connect` replaces the coordinator's endpoint (another
    /// host's view of it) and `launcher` runs the worker under another command.
    @discardableResult
    func startWorker(
        slots: Int = 2, id: String? = nil, backend: String = "scripted", extraArguments: [String] = [],
        connect: String? = nil, launcher: [String] = []
    ) throws -> ChildProcess {
        var arguments = [
            "worker", "--connect", connect ?? workerEndpoint, "--backend", backend, "--slots", "\(slots)",
        ]
        if let id { arguments += ["--worker-id", id] }
        arguments += extraArguments
        let worker = try Self.arbor(launcher, arguments)
        workers.append(worker)
        return worker
    }

    /// Starts some other worker program (the C interop peer).
    @discardableResult
    func startProgram(_ path: String, _ arguments: [String]) throws -> ChildProcess {
        let program = try ChildProcess(path, arguments)
        workers.append(program)
        return program
    }

    /// The JSON objects of every line of every file in a run subfolder, by file name.
    func jsonLines(in folder: String) throws -> [String: [[String: Any]]] {
        let url = runDirectory.appendingPathComponent(folder)
        var files: [String: [[String: Any]]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".jsonl") {
            let text = try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)
            files[name] = try text.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
            }
        }
        return files
    }

    /// Number of batch files written so far.
    var batchFilesWritten: Int {
        let url = runDirectory.appendingPathComponent("batches")
        return ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }.count
    }

    /// Waits until `condition` holds or `timeout` seconds pass.
    func wait(timeout: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }
}

struct ClusterError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
