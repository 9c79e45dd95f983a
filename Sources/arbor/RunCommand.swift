import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation
import Logging
import Worker

/// `arbor run`: a whole local cluster in one command.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job on a local cluster: a coordinator, worker processes and the job's trainer.",
        discussion: """
            Starts the coordinator in this process and `arbor worker` processes connected to it \
            over ZeroMQ, shows a live progress line, prints a summary and exits 0 when the job is \
            complete. Ctrl-C drains the workers and stops; no process is left behind.

            On the builtin backend the default is one worker for the machine, its engine on all \
            cores, serving enough requests at once to keep its batched decode full: 16 live \
            branches per core over the job's tree.trajectories (the demo: 2 cores, 4 trajectories, \
            8 requests). Several workers on one machine would compete for the same cores with \
            smaller batches each. Other backends default to 2 workers × 1 slot. --workers and \
            --slots override.

            With `trainer.command` in the job (or --trainer) the trainer starts once the \
            coordinator listens, in the job file's directory, with ARBOR_CONTROL, ARBOR_RUN_DIR, \
            ARBOR_MODEL and ARBOR_TEMPERATURE in its environment; its lines are prefixed \
            `[trainer]`. A trainer that fails, or exits before every batch is acknowledged, \
            stops the run, which exits non-zero with the trainer's status and last lines.

            With --curve-secret (from `arbor keygen`) the worker socket uses CURVE: the local \
            workers get an ephemeral key pair, admitted beside any --authorized-keys.

            Example:
              arbor run --config examples/demo.yaml --run-dir runs/demo
              arbor run --config examples/train.yaml --run-dir runs/train \\
                --trainer "python3 -m arbor_client.trainer"
            """)

    @Option(help: "The job file (job.yaml).")
    var config: String

    @Option(help: "Number of worker processes (default: builtin 1, else 2).")
    var workers: Int?

    @Option(help: "Requests each worker serves at once (default: builtin sized to fill the engine's batch, else 1).")
    var slots: Int?

    @Option(help: "Run directory for the job's state, batches and trees.")
    var runDir: String

    @Option(help: "Worker backend: builtin, openai or scripted (default: the job's model.backend).")
    var backend: String?

    @Option(help: "Number of training batches (replaces the job's batch.count).")
    var batches: Int?

    @Option(help: "Trainer to start beside the workers, a shell command line (replaces the job's trainer.command).")
    var trainer: String?

    @Option(help: "Seconds the trainer has to exit after SIGTERM before it is killed.")
    var trainerGrace = 10.0

    @OptionGroup var endpoints: EndpointOptions
    @OptionGroup var security: CurveServerOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let slots, slots < 1 { throw ValidationError("--slots must be at least 1") }
        if let batches, batches < 1 { throw ValidationError("--batches must be at least 1") }
        if let trainer, trainer.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--trainer must be a command line, e.g. --trainer \"python3 train.py\"")
        }
        if trainerGrace < 0 { throw ValidationError("--trainer-grace must be ≥ 0 seconds") }
        try security.validate(bind: endpoints.bind, requireAuthorizedKeys: false)
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.run")
        var job = try JobConfig.load(path: config)
        if let batches { job.batch.count = batches }
        if let trainer {
            job.trainer.command = TrainerSettings.shellCommand(trainer)
            job.trainer.required = true
        }
        var options = CoordinatorService.Options(
            config: job, runDirectory: URL(fileURLWithPath: runDir), bind: endpoints.bind, control: endpoints.control)
        var workerArguments: [String] = []
        let workerBackend = backend ?? job.model.backend.rawValue
        if workerBackend == "builtin" || workerBackend == "openai", let model = job.model.path {
            // The job's model (its path resolved against the job file), not the worker's default.
            workerArguments += ["--model", model]
        }
        let layout = WorkerLayout(
            backend: workerBackend, trajectories: job.tree.trajectories, cores: BuiltinBackend.availableCores,
            workers: workers, slots: slots)
        if workerBackend == "builtin" { workerArguments += ["--threads", "\(layout.threadsPerWorker)"] }
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
        options.treeText = TreeTextDecoder.forJob(job)
        let service = try CoordinatorService(options: options, logger: logger)
        if service.holdsEveryBatch, job.trainer.command == nil {
            // Nothing to roll out: no workers to start and wait for.
            print(RunSummary.alreadyComplete(job: job.name, runDirectory: runDir, batches: job.batch.count))
            return
        }
        let fleet = WorkerFleet(
            executable: CommandLine.executablePath, backend: workerBackend, slots: layout.slots,
            logLevel: logging.logLevel, logFormat: logging.logFormat, extraArguments: workerArguments)
        let trainerProcess = job.trainer.command.map(TrainerProcess.init(argv:))
        let environment = self.trainerEnvironment(job)
        let directory = self.jobDirectory
        let signals = onTerminationSignals { _ in
            service.shutdown(reason: "interrupted")
            fleet.terminateAll()
            trainerProcess?.terminate()
        }
        let progress = ProgressReporter { service.currentStatus }
        let status: JobStatus
        do {
            status = try await service.run { endpoints in
                logger.info(
                    "starting \(layout.workers) worker(s) × \(layout.slots) slot(s) for \(endpoints.workers); status at \(endpoints.control)")
                if let http = endpoints.http { logger.info("http: \(http)") }
                fleet.start(count: layout.workers, endpoint: endpoints.workers)
                guard let trainerProcess else { return }
                do {
                    try trainerProcess.start(
                        directory: directory, environment: environment.merging(["ARBOR_CONTROL": endpoints.control]) { $1 }
                    ) { exit in
                        service.trainerProcessExited(status: exit.status, description: exit.description)
                    }
                    logger.info("trainer started: \(trainerProcess.argv.joined(separator: " "))")
                } catch {
                    logger.error("\(error)")
                    service.shutdown(reason: "the trainer could not start")
                }
            }
        } catch {
            fleet.terminateAll()
            trainerProcess?.stop(grace: trainerGrace)
            fleet.waitAll(timeout: 10)
            throw error
        }
        progress.stop()
        trainerProcess?.stop(grace: trainerGrace)
        fleet.waitAll(timeout: 10)
        _ = signals
        print(RunSummary(status: status).text)
        fflush(nil)
        if let trainerProcess, let failure = TrainerFailure(process: trainerProcess, status: status) {
            FileHandle.standardError.write(Data((failure.text + "\n").utf8))
            throw ExitCode(1)
        }
        if status.job.phase != "complete" { throw ExitCode(1) }
    }

    /// The job file's directory, absolute: the trainer runs there.
    private var jobDirectory: String {
        let path = config.hasPrefix("/") ? config : FileManager.default.currentDirectoryPath + "/" + config
        return URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
    }

    /// What the trainer finds in its environment besides `ARBOR_CONTROL` (known once bound).
    private func trainerEnvironment(_ job: JobConfig) -> [String: String] {
        let runPath = runDir.hasPrefix("/") ? runDir : FileManager.default.currentDirectoryPath + "/" + runDir
        var environment = job.trainer.env
        environment["ARBOR_RUN_DIR"] = URL(fileURLWithPath: runPath).standardizedFileURL.path
        environment["ARBOR_MODEL"] = job.model.path ?? ""
        environment["ARBOR_TEMPERATURE"] = "\(job.sampling.temperature)"
        return environment
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
