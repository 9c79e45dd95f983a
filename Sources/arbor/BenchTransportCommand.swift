import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation
import Logging
import Worker

/// `arbor bench transport`: request→result round trips through the coordinator beside raw ZeroMQ.
struct BenchTransportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Round trips per second and latency through the coordinator, beside raw ZeroMQ ping-pong.",
        discussion: """
            Runs a job of small scripted trees (no model, no latency) through an in-process \
            coordinator and --workers worker nodes over TCP loopback, then bare DEALER/ROUTER \
            ping-pong with messages of the same size. Prints both; the target is at least half \
            the raw rate.

            Example:
              arbor bench transport --requests 4000 --workers 2 --json
            """)

    @Option(help: "Rollout requests to run through the coordinator.")
    var requests = 4000

    @Option(help: "Worker nodes (threads in this process, each with its own socket).")
    var workers = 2

    @Option(help: "Slots per worker.")
    var slots = 4

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let benchmark = TransportBenchmark(requests: requests, workers: workers, slots: slots)
        let result = try await benchmark.run()
        print(json ? result.json : result.table)
    }
}
