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
            deregisters and exits 0. A rollout still running --drain-timeout seconds into the drain \
            is stopped and reported as `cancelled`, and the coordinator retries it elsewhere.

            Backends: `builtin` runs the policy on Arbor's own engine; `openai` generates each step on an \
            OpenAI-compatible completions server (vLLM, SGLang, llama.cpp's server) given by --server or \
            the job's model.endpoint, keeping token ids and log-probs (--model is the GGUF the server \
            runs, for its tokenizer); `scripted` is the load-testing backend (synthetic trees with tool \
            calls and a configurable latency, no model).

            The builtin backend decodes the branches of all in-flight trees together on one engine \
            thread, and a new tree's prompt or a tool response runs inside the running decode step, \
            so more slots mean fuller batches: about 16 live branches per engine thread keep it in \
            its efficient range (`arbor run` gives its builtin worker 16 × threads ÷ trajectories \
            slots, e.g. 8 for the demo). With CURVE (`arbor keygen`), \
            pass the worker's secret key file and the coordinator's public key file; the worker's own \
            public key is derived from its secret.

            Examples:
              arbor worker --connect tcp://coordinator-host:5555 --slots 2 \\
                --curve-secret keys/worker-1.key --server-key keys/coordinator.pub
              arbor worker --connect tcp://coordinator-host:5555 --slots 8 --backend openai \\
                --server http://127.0.0.1:8000/v1 --model models/SmolLM2-135M-Instruct.Q4_1.gguf
            """)

    @Option(help: "The coordinator's worker endpoint.")
    var connect = "tcp://127.0.0.1:5555"

    @Option(help: "Policy backend: builtin (Arbor's engine), openai (a completions server) or scripted (load testing).")
    var backend: BackendChoice = .builtin

    @Option(help: "Requests served at once.")
    var slots = 1

    @Option(
        help: """
            The GGUF model file (builtin: default models/SmolLM2-135M-Instruct.Q4_1.gguf; a job naming another \
            existing model file switches to it; \
            openai: the GGUF the server runs, for its tokenizer, default the job's model.path).
            """)
    var model: String?

    @Option(help: "Openai backend: the server's base URL, e.g. http://127.0.0.1:8000/v1 (default: the job's model.endpoint).")
    var server: String?

    @Option(help: "Openai backend: model name sent to the server (default: the job's model.served_name, else the server's first model).")
    var serverModel: String?

    @Option(help: "Openai backend: environment variable holding the server's API key.")
    var serverApiKeyEnv: String?

    @Option(help: "Openai backend: URL POSTed {lora_name, lora_path} at each policy update (vLLM's /v1/load_lora_adapter).")
    var serverReloadUrl: String?

    @Option(help: "Openai backend: prompts as token ids, text (llama-cpp-python's server) or auto (ids, else text).")
    var serverPrompt: OpenAIServerSettings.PromptForm = .auto

    @Option(help: "Openai backend: the server's context length in tokens.")
    var serverContext = 2048

    @Option(help: "Builtin backend: OpenBLAS threads of the engine.")
    var threads = 2

    @Option(help: ArgumentHelp(
        "Seconds a drain lets in-flight rollouts run before it stops them and reports them cancelled.",
        valueName: "seconds"))
    var drainTimeout = WorkerSession.Settings.defaultRolloutDrainTimeout

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
        case builtin, scripted, openai
    }

    static let defaultModel = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    func validate() throws {
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
        if (curveSecret == nil) != (serverKey == nil) {
            throw ValidationError(
                "--curve-secret and --server-key go together: the worker's secret key and the coordinator's public key")
        }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if !(drainTimeout > 0) { throw ValidationError("--drain-timeout must be a positive number of seconds") }
        if backend == .builtin, !FileManager.default.fileExists(atPath: model ?? Self.defaultModel) {
            throw ValidationError(
                "no model file at '\(model ?? Self.defaultModel)'; run scripts/fetch-model, pass --model PATH, or use --backend scripted")
        }
        if backend != .openai, server != nil || serverModel != nil || serverApiKeyEnv != nil || serverReloadUrl != nil {
            throw ValidationError("--server, --server-model, --server-api-key-env and --server-reload-url need --backend openai")
        }
        if backend == .openai, let model, !FileManager.default.fileExists(atPath: model) {
            throw ValidationError("no model file at '\(model)': the openai backend reads the served model's tokenizer from it")
        }
        if serverContext < 16 { throw ValidationError("--server-context must be at least 16") }
    }

    /// The openai backend's server settings from the command line; nil without --server (the job's then).
    private var serverSettings: OpenAIServerSettings? {
        guard let server else { return nil }
        var settings = OpenAIServerSettings(url: server)
        settings.modelName = serverModel
        settings.apiKeyEnv = serverApiKeyEnv
        settings.reloadURL = serverReloadUrl
        settings.promptForm = serverPrompt
        settings.contextLength = serverContext
        return settings
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
            policy = try BuiltinBackend(modelPath: model ?? Self.defaultModel, options: options)
        case .openai:
            policy = try OpenAIBackend(settings: serverSettings, modelPath: model, logger: logger)
        }
        var options = WorkerNode.Options(
            endpoint: connect, workerID: workerID ?? WorkerNode.Options.defaultWorkerID(), slots: slots,
            curve: try curveOptions())
        options.rolloutDrainTimeout = drainTimeout
        let node = WorkerNode(options: options, backend: policy, logger: logger)
        let signals = onTerminationSignals { signal in node.requestDrain(reason: signal == SIGTERM ? "SIGTERM" : "SIGINT") }
        if exitWithParent { watchParent(node, logger: logger) }
        let code: Int32
        do {
            code = try await node.run()
        } catch {
            PythonTool.tearDownSandboxes()
            throw error
        }
        _ = signals
        // Whatever the tools still hold (warm sandboxes, refills in flight) ends with the worker.
        PythonTool.tearDownSandboxes()
        if code != 0 { throw ExitCode(code) }
    }

    /// Seconds a worker whose parent died has to drain before it exits regardless: with the
    /// coordinator gone (it usually dies with the parent), a drain can wait forever.
    static let orphanDrainSeconds = 5.0

    /// `arbor run` starts workers with this flag: a worker whose parent died drains on its own,
    /// and exits after `orphanDrainSeconds` whether or not the drain finished.
    private func watchParent(_ node: WorkerNode, logger: Logger) {
        let parent = getppid()
        Thread.detachNewThread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            node.requestDrain(reason: "parent exited")
            Thread.sleep(forTimeInterval: Self.orphanDrainSeconds)
            logger.warning("parent exited \(Self.orphanDrainSeconds) s ago and the drain has not finished; exiting")
            Self.exitNow(status: 1, logger: logger)
        }
    }

    /// Ends every sandbox this worker started, then the process (no drain).
    private static func exitNow(status: Int32, logger: Logger) -> Never {
        PythonTool.tearDownSandboxes(timeout: 2)
        logger.info("worker exiting with status \(status) without draining")
        fflush(nil)
        // Not exit(3): its atexit handlers and static destructors can block on locks that the
        // still-running engine and transport threads hold.
        _exit(status)
    }
}

/// `--server-prompt auto|ids|text`.
extension OpenAIServerSettings.PromptForm: ExpressibleByArgument {}
