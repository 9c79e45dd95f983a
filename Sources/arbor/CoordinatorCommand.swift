import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation
import Logging

/// `arbor coordinator`: schedules a job's rollouts over the workers that connect to it.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator of a job: workers connect to it, it writes training batches.",
        discussion: """
            Binds the worker socket and the control socket, samples task-balanced batches from the \
            job's task sets, dispatches them to workers, and writes one JSONL file per finished batch \
            under RUN_DIR/batches. Exits 0 when the job is complete.

            Example:
              arbor coordinator --config examples/demo.yaml --run-dir runs/demo --bind tcp://0.0.0.0:5555
            """)

    @Option(help: "The job file (job.yaml).")
    var config: String

    @Option(help: "Run directory for the job's state, batches and trees.")
    var runDir: String

    @Option(help: "With --http: seconds the HTTP server keeps serving the final status after the job ends.")
    var linger = 0.0

    @OptionGroup var endpoints: EndpointOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.coordinator")
        let job = try JobConfig.load(path: config)
        var options = CoordinatorService.Options(
            config: job, runDirectory: URL(fileURLWithPath: runDir), bind: endpoints.bind, control: endpoints.control)
        options.drainGrace = 10
        options.http = endpoints.http
        options.httpLinger = linger
        let service = try CoordinatorService(options: options, logger: logger)
        let signals = onTerminationSignals { _ in service.shutdown(reason: "signal") }
        let status = try await service.run { endpoints in
            print("workers: \(endpoints.workers)\ncontrol: \(endpoints.control)")
            if let http = endpoints.http { print("http: \(http)") }
            fflush(nil)
        }
        _ = signals
        print(RunSummary(status: status).text)
        if status.job.phase != "complete" { throw ExitCode(1) }
    }
}
