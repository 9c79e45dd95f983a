import ArgumentParser
import Foundation
import Worker

/// `arbor bench rollout`: PORTool trees per second with prefix sharing on and off, side by side.
struct BenchRolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Trees/s, generated tokens/s and engine busy share of the builtin backend, prefix sharing on beside off.",
        discussion: """
            Grows the job's trees (tree shape, sampling, tools, the first --tasks-per-type tasks of \
            each task set) on the builtin backend twice in one run: branches forking their parent's \
            KV cache, then every branch re-prefilling its whole context. --concurrency requests are \
            in flight at once, as on a worker with that many slots. Targets: sharing on ≥ 1.5× the \
            trees/s of sharing off; the engine busy ≥ 90% of the in-flight time.

            Example:
              arbor bench rollout --config examples/demo.yaml --tasks-per-type 2 --json
            """)

    @Option(help: "The job whose tree shape, sampling, tools and tasks are used.")
    var config = "examples/demo.yaml"

    @Option(help: "The GGUF model (default: the job's model.path).")
    var model: String?

    @Option(help: "Tasks taken from the start of each task set.")
    var tasksPerType = 2

    @Option(help: "Requests in flight at once (a worker's slots).")
    var concurrency = 4

    @Option(help: "Engine (OpenBLAS) threads.")
    var threads = 2

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if tasksPerType < 1 { throw ValidationError("--tasks-per-type must be at least 1") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        var settings = RolloutBenchmark.Settings(jobPath: config)
        settings.modelPath = model
        settings.tasksPerType = tasksPerType
        settings.concurrency = concurrency
        settings.threads = threads
        let report = try RolloutBenchmark(settings: settings).run { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        print(json ? report.json : report.table)
    }
}
