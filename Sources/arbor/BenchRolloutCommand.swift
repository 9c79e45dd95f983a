import ArgumentParser
import Foundation
import Logging
import Worker

/// `arbor bench rollout`: the same job on the builtin engine and on llama-cpp-python's server.
struct BenchRolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Trees/s, tok/s, busy share and mean live batch: the builtin engine beside llama-cpp-python's server.",
        discussion: """
            Grows the job's trees (tree shape, sampling, tools, seeds, the first --tasks-per-type \
            tasks of each task set) twice in one run: (a) on the builtin engine with `arbor run`'s \
            defaults (as many requests in flight as a builtin worker's slots), (b) on the openai \
            backend against llama-cpp-python's server on the same GGUF with the same threads \
            (installed into --venv on first use, started on a free loopback port with flash \
            attention and stopped on every exit). --sharing-off adds the builtin engine with prefix \
            sharing off. Targets: builtin ≥ 2× the server's trees/s; mean live batch ≥ 16.

            Example:
              arbor bench rollout --config examples/demo.yaml --json
            """)

    @Option(help: "The job whose tree shape, sampling, tools and tasks are used.")
    var config = "examples/demo.yaml"

    @Option(help: "The GGUF model (default: the job's model.path).")
    var model: String?

    @Option(help: "Tasks taken from the start of each task set (default: the job's batch.tasks).")
    var tasksPerType: Int?

    @Option(help: "Requests in flight at once (default: the slots arbor run gives a builtin worker).")
    var concurrency: Int?

    @Option(help: "Threads of the engine and of the server.")
    var threads = 2

    @Option(help: "Virtual environment holding llama-cpp-python[server] (installed there if missing).")
    var venv = ".venv-bench"

    @Flag(help: "Also run the builtin engine with prefix sharing off.")
    var sharingOff = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if let tasksPerType, tasksPerType < 1 { throw ValidationError("--tasks-per-type must be at least 1") }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLASCoreSelection.reexecIfNeeded()
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var settings = RolloutBenchmark.Settings(jobPath: config)
        settings.modelPath = model
        settings.tasksPerType = tasksPerType
        settings.concurrency = concurrency
        settings.threads = threads
        let benchmark = RolloutBenchmark(settings: settings)
        let workload = try benchmark.workload()
        log("arbor bench rollout — \(workload.shape), \(threads) threads")
        log("builtin: loading \(workload.modelPath)")
        let (builtin, unavailable) = try benchmark.runBuiltin(workload)
        log(String(format: "  %.3f trees/s, %.1f tok/s, mean batch %.1f", builtin.treesPerSecond, builtin.tokensPerSecond, builtin.meanBatch))
        var sharingOffRun: RolloutBenchmark.Run?
        if sharingOff {
            log("builtin, prefix sharing off")
            sharingOffRun = try benchmark.runBuiltin(workload, prefixSharing: false).0
        }
        let reference = LlamaCppReference(venv: venv)
        try reference.ensureInstalled(progress: log)
        log("openai backend: starting llama-cpp-python's server on \(workload.modelPath)")
        let server = try LlamaCppServer.start(python: "\(venv)/bin/python", model: workload.modelPath, threads: threads)
        defer { server.stop() }
        let pid = server.processIdentifier
        // Ctrl-C or SIGTERM: the server goes first, then this process exits (the benchmark's
        // threads block in requests and would not notice a flag).
        _ = onTerminationSignals { signal in
            kill(pid, SIGTERM)
            Thread.sleep(forTimeInterval: 2)
            kill(pid, SIGKILL)
            Foundation.exit(128 + signal)
        }
        var logger = Logger(label: "arbor.bench")
        logger.logLevel = .warning
        let openai = try benchmark.runOpenAI(workload, url: server.url, logger: logger)
        log(String(format: "  %.3f trees/s, %.1f tok/s", openai.treesPerSecond, openai.tokensPerSecond))
        let report = RolloutBenchmark.Report(
            builtin: builtin, openaiLlamacpp: openai,
            ratio: openai.treesPerSecond > 0 ? builtin.treesPerSecond / openai.treesPerSecond : 0,
            builtinSharingOff: sharingOffRun, shape: workload.shape + ", \(threads) threads, crowded = ≥ \(settings.crowdedTrees) trees in flight", server: server.settings,
            unavailableTools: unavailable)
        print(json ? report.json : report.table)
    }
}
