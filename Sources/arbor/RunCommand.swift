import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation
import Logging

/// `arbor run`: a whole local cluster in one command.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job on a local cluster: a coordinator and N worker processes.",
        discussion: """
            Starts the coordinator in this process and N `arbor worker` processes connected to it \
            over ZeroMQ, shows a live progress line, prints a summary and exits 0 when the job is \
            complete. Ctrl-C drains the workers and stops; no process is left behind.

            With --curve-secret (from `arbor keygen`) the worker socket uses CURVE: the local \
            workers get an ephemeral key pair, admitted beside any --authorized-keys.

            Example:
              arbor run --config examples/demo.yaml --workers 2 --run-dir runs/demo
            """)

    @Option(help: "The job file (job.yaml).")
    var config: String

    @Option(help: "Number of worker processes.")
    var workers = 2

    @Option(help: "Requests each worker serves at once.")
    var slots = 1

    @Option(help: "Run directory for the job's state, batches and trees.")
    var runDir: String

    @Option(help: "Worker backend: builtin, openai or scripted (default: the job's model.backend).")
    var backend: String?

    @OptionGroup var endpoints: EndpointOptions
    @OptionGroup var security: CurveServerOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
        try security.validate(bind: endpoints.bind, requireAuthorizedKeys: false)
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.run")
        let job = try JobConfig.load(path: config)
        var options = CoordinatorService.Options(
            config: job, runDirectory: URL(fileURLWithPath: runDir), bind: endpoints.bind, control: endpoints.control)
        var workerArguments: [String] = []
        let workerBackend = backend ?? job.model.backend.rawValue
        if workerBackend == "builtin" || workerBackend == "openai", let model = job.model.path {
            // The job's model (its path resolved against the job file), not the worker's default.
            workerArguments += ["--model", model]
        }
        var localKeys: LocalWorkerKeys?
        defer { localKeys?.remove() }
        if let keys = try security.serverKeys() {
            // The local workers get one ephemeral key pair, admitted beside the listed keys.
            let local = try LocalWorkerKeys(server: keys.curve)
            localKeys = local
            options.curve = keys.curve
            options.authorizedWorkerKeys = keys.authorized + [local.workerPublicKey]
            workerArguments += local.workerArguments
        }
        options.http = endpoints.http
        let service = try CoordinatorService(options: options, logger: logger)
        let fleet = WorkerFleet(
            executable: CommandLine.executablePath, backend: backend ?? job.model.backend.rawValue, slots: slots,
            logLevel: logging.logLevel, logFormat: logging.logFormat, extraArguments: workerArguments)
        let signals = onTerminationSignals { _ in
            service.shutdown(reason: "interrupted")
            fleet.terminateAll()
        }
        let progress = ProgressReporter { service.currentStatus }
        let status: JobStatus
        do {
            status = try await service.run { endpoints in
                logger.info("starting \(workers) worker(s) for \(endpoints.workers); status at \(endpoints.control)")
                if let http = endpoints.http { logger.info("http: \(http)") }
                fleet.start(count: workers, endpoint: endpoints.workers)
            }
        } catch {
            fleet.terminateAll()
            throw error
        }
        progress.stop()
        fleet.waitAll(timeout: 10)
        _ = signals
        print(RunSummary(status: status).text)
        if status.job.phase != "complete" { throw ExitCode(1) }
    }
}

extension CommandLine {
    /// The path of the running `arbor` binary, so `arbor run` can start workers from the same build.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}

/// An ephemeral CURVE key pair for the workers `arbor run` starts, with the coordinator's public
/// key beside it, in a private temporary directory (mode 0700) removed when the run ends.
struct LocalWorkerKeys {
    let directory: URL
    let workerPublicKey: String

    /// Writes the files for the coordinator whose options are `server`. Throws `.badKey`.
    init(server: CurveOptions) throws {
        guard case .server(let secret) = server else {
            throw ProtocolError(.badKey, "the coordinator needs CURVE server options")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-keys-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ProtocolError(.badKey, "cannot create \(directory.path) for the local workers' keys", cause: error)
        }
        let pair = try CurveKey.generate()
        workerPublicKey = pair.publicKey
        try CurveKey.write(pair.secretKey, toPath: directory.appendingPathComponent("worker.key").path, secret: true)
        try CurveKey.write(
            try CurveKey.publicKey(forSecret: secret), toPath: directory.appendingPathComponent("coordinator.pub").path,
            secret: false)
    }

    /// The `arbor worker` arguments that use these files.
    var workerArguments: [String] {
        [
            "--curve-secret", directory.appendingPathComponent("worker.key").path,
            "--server-key", directory.appendingPathComponent("coordinator.pub").path,
        ]
    }

    /// Deletes the key files.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
