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

            A worker socket bound to a non-loopback address needs CURVE keys (`arbor keygen`): only \
            workers whose public key is listed in --authorized-keys are admitted; others are refused, \
            logged and counted (counters.curve_refusals in the status). --insecure opts out.

            Example:
              arbor coordinator --config examples/demo.yaml --run-dir runs/demo --bind tcp://0.0.0.0:5555 \\
                --curve-secret keys/coordinator.key --authorized-keys keys/authorized_keys
            """)

    @Option(help: "The job file (job.yaml).")
    var config: String

    @Option(help: "Run directory for the job's state, batches and trees.")
    var runDir: String

    @Option(help: "With --http: seconds the HTTP server keeps serving the final status after the job ends.")
    var linger = 0.0

    @OptionGroup var endpoints: EndpointOptions
    @OptionGroup var security: CurveServerOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try security.validate(bind: endpoints.bind, requireAuthorizedKeys: true)
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.coordinator")
        let job = try JobConfig.load(path: config)
        var options = CoordinatorService.Options(
            config: job, runDirectory: URL(fileURLWithPath: runDir), bind: endpoints.bind, control: endpoints.control)
        options.drainGrace = 10
        options.http = endpoints.http
        options.treeText = TreeTextDecoder.forJob(job)
        options.httpLinger = linger
        if let keys = try security.serverKeys() {
            options.curve = keys.curve
            options.authorizedWorkerKeys = keys.authorized
            logger.info("CURVE on the worker socket: \(keys.authorized.count) worker key(s) authorized")
        }
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
