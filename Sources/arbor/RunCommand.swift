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

    @Option(help: "Worker backend: builtin or scripted (default: the job's model.backend).")
    var backend: String?

    @OptionGroup var endpoints: EndpointOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.run")
        let job = try JobConfig.load(path: config)
        var options = CoordinatorService.Options(
            config: job, runDirectory: URL(fileURLWithPath: runDir), bind: endpoints.bind, control: endpoints.control)
        options.http = endpoints.http
        let service = try CoordinatorService(options: options, logger: logger)
        let fleet = WorkerFleet(
            executable: CommandLine.executablePath, backend: backend ?? job.model.backend.rawValue, slots: slots,
            logLevel: logging.logLevel, logFormat: logging.logFormat)
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
