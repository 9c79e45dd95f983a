import ArborProtocol
import ArgumentParser
import Foundation
import Logging
import Worker

/// `arbor worker`: serves rollout requests for a coordinator.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: it connects to a coordinator and grows rollout trees for it.",
        discussion: """
            The worker registers, heartbeats, serves up to --slots requests at once and reconnects \
            when the coordinator comes back. SIGTERM drains it: it finishes its in-flight work, \
            deregisters and exits 0.

            Backends: `builtin` runs the policy on Arbor's own engine; `scripted` is the load-testing \
            backend (synthetic trees with tool calls and a configurable latency, no model).

            The builtin backend decodes the branches of all in-flight trees together on one engine \
            thread, so --slots 2 to 4 keeps it busy while tool calls run. With CURVE (`arbor keygen`), \
            pass the worker's secret key file and the coordinator's public key file; the worker's own \
            public key is derived from its secret.

            Example:
              arbor worker --connect tcp://coordinator-host:5555 --slots 2 \\
                --curve-secret keys/worker-1.key --server-key keys/coordinator.pub
            """)

    @Option(help: "The coordinator's worker endpoint.")
    var connect = "tcp://127.0.0.1:5555"

    @Option(help: "Policy backend: builtin (Arbor's engine) or scripted (load testing, no model).")
    var backend: BackendChoice = .builtin

    @Option(help: "Requests served at once.")
    var slots = 1

    @Option(help: "Builtin backend: the GGUF model file. A job naming another existing model file switches to it.")
    var model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Builtin backend: OpenBLAS threads of the engine.")
    var threads = 2

    @Option(help: "Worker id (default: host-pid-random).")
    var workerID: String?

    @Option(help: "Scripted backend only: latency per tree step in milliseconds (overrides the job's).")
    var scriptedLatencyMs: Double?

    @Option(help: "This worker's CURVE secret key file (from `arbor keygen`); needs --server-key.")
    var curveSecret: String?

    @Option(help: "The coordinator's CURVE public key file (coordinator.pub); needs --curve-secret.")
    var serverKey: String?

    @Flag(help: .hidden)
    var exitWithParent = false

    @OptionGroup var logging: LoggingOptions

    enum BackendChoice: String, ExpressibleByArgument, CaseIterable {
        case builtin, scripted
    }

    func validate() throws {
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
        if (curveSecret == nil) != (serverKey == nil) {
            throw ValidationError(
                "--curve-secret and --server-key go together: the worker's secret key and the coordinator's public key")
        }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if backend == .builtin, !FileManager.default.fileExists(atPath: model) {
            throw ValidationError(
                "no model file at '\(model)'; run scripts/fetch-model, pass --model PATH, or use --backend scripted")
        }
    }

    /// The client-side CURVE options read from the key files; nil without keys.
    private func curveOptions() throws -> CurveOptions? {
        guard let curveSecret, let serverKey else { return nil }
        let secret = try CurveKey.read(path: curveSecret, what: "CURVE secret key")
        return .client(
            publicKey: try CurveKey.publicKey(forSecret: secret), secretKey: secret,
            serverPublicKey: try CurveKey.read(path: serverKey, what: "coordinator public key"))
    }

    func run() async throws {
        // The engine needs OpenBLAS's vector kernels; on CPUs newer than the library this restarts
        // the process once with OPENBLAS_CORETYPE set (before any socket or thread exists).
        if backend == .builtin { BLASCoreSelection.reexecIfNeeded() }
        logging.bootstrap()
        let logger = Logger(label: "arbor.worker")
        let policy: any PolicyBackend
        switch backend {
        case .scripted: policy = ScriptedBackend(stepLatencyMilliseconds: scriptedLatencyMs)
        case .builtin:
            var options = BuiltinBackend.Options()
            options.threads = threads
            policy = try BuiltinBackend(modelPath: model, options: options)
        }
        let node = WorkerNode(
            options: .init(
                endpoint: connect, workerID: workerID ?? WorkerNode.Options.defaultWorkerID(), slots: slots,
                curve: try curveOptions()),
            backend: policy, logger: logger)
        let signals = onTerminationSignals { signal in node.requestDrain(reason: signal == SIGTERM ? "SIGTERM" : "SIGINT") }
        if exitWithParent { watchParent(node) }
        let code = try await node.run()
        _ = signals
        if code != 0 { throw ExitCode(code) }
    }

    /// `arbor run` starts workers with this flag: a worker whose parent died drains on its own.
    private func watchParent(_ node: WorkerNode) {
        let parent = getppid()
        Thread.detachNewThread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            node.requestDrain(reason: "parent exited")
        }
    }
}
