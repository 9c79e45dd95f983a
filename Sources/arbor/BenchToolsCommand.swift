import ArborProtocol
import ArgumentParser
import Foundation
import Worker

/// `arbor bench tools`: sandbox latency and throughput beside bare-spawn references.
struct BenchToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Measure python-tool latency (cold and warm pool) and throughput beside bare spawns.",
        discussion: """
            Prints p50/p99 of: a bare `python3 -c pass` spawn, a bare bwrap spawn, a bwrap'd python, a
            sandboxed call spawned per call (cold) and one taken from the warm pool; then calls/s with
            concurrent callers. Example: arbor bench tools --iterations 50 --json
            """)

    @Option(help: "Samples per latency row.")
    var iterations = 50

    @Option(help: "Concurrent callers in the throughput run.")
    var concurrency = 8

    @Option(help: "job.yaml whose tools.python limits to use (defaults without it).")
    var config: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let (settings, _) = try ToolSettingsFile.load(config)
        let benchmark = ToolBenchmark(iterations: iterations, concurrency: concurrency, settings: settings.python)
        let report = try await benchmark.run { line in
            FileHandle.standardError.write(Data("… \(line)\n".utf8))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(ToolBenchmark.table(report))
        }
    }
}
