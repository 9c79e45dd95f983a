import ArgumentParser
import Coordinator
import Foundation
import Logging

/// `arbor serve`: the dashboard and tree viewer of a finished run, read-only, with no job running.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a finished run's dashboard (/) and tree viewer (/trees) over HTTP, read-only.",
        discussion: """
            Reads RUN_DIR: the final status the coordinator kept (status.json) for the dashboard \
            and /api/status, and trees/batch-NNNNNN.jsonl for /trees and /api/trees, scored with \
            RUN_DIR/job.yaml as `arbor advantages` does. Batches written later (a job still \
            running in RUN_DIR) show up on the next request. Serves until interrupted.

            Example:
              arbor serve runs/demo --http 127.0.0.1:8080
            """)

    @Argument(help: "The run directory (what --run-dir named).")
    var runDir: String

    @Option(help: "Address to serve on, HOST:PORT (port 0 picks a free port, printed on start).")
    var http = "127.0.0.1:8080"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "arbor.serve")
        let directory = URL(fileURLWithPath: runDir)
        let trees = try RunTrees(runDirectory: directory)
        let statusFile = directory.appendingPathComponent("status.json")
        let source = StatusServer.Source(
            status: { (try? String(contentsOf: statusFile, encoding: .utf8)).flatMap { try? JobStatus.decode($0) } },
            isAlive: { true }, trees: trees, text: TreeTextDecoder.forJob(trees.config))
        let server = try StatusServer(address: http, source: source, logger: logger)
        let url = try await server.start()
        print("http: \(url)")
        print("trees: \(url)/trees")
        fflush(nil)
        let stopped = AsyncStream<Void> { continuation in
            _ = onTerminationSignals { _ in continuation.finish() }
        }
        for await _ in stopped {}
        server.stop()
    }
}
