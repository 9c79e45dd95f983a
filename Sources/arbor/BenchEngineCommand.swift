import ArgumentParser
import Foundation
import Worker

/// `arbor bench engine`: built-in engine throughput beside llama.cpp on the same model.
struct BenchEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Measure prefill and tree-decode throughput of the built-in engine beside llama.cpp.",
        discussion: """
            Prefills a ~300-token chat prompt, then decodes trees of B branches forked from it
            (64 sampled steps each, all branches in one batch per step) and reports aggregate
            tokens/s. The same ids, branch counts, steps and threads then run through llama.cpp
            (llama-cpp-python, installed on first use into .venv-bench/, a one-time build of
            several minutes) and both are printed side by side.
            The two engines run alternately for --rounds rounds and each figure is the best of
            its rounds, so a burst of load on a shared host slows neither side alone.
            Example: arbor bench engine --json
            """)

    @Option(name: .long, help: ArgumentHelp("Path of the GGUF model file.", valueName: "path"))
    var model: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Comma-separated branch counts to decode.")
    var branches: String = "1,4,8,16,32"

    @Option(help: "Sampled steps per branch.")
    var steps: Int = 64

    @Option(help: "Rounds of both engines, run alternately; each figure is the best of its rounds.")
    var rounds: Int = 3

    @Option(help: "Threads for both engines (OpenBLAS here, n_threads in llama.cpp).")
    var threads: Int = 2

    @Option(help: "Most batch rows multiplied by the quantised kernels; larger batches use sgemm (default: the engine's).")
    var quantizedRowLimit: Int?

    @Option(help: "Most batch rows multiplied by the block kernels before the panel kernels take over (AVX-512 and AVX2; default: the engine's).")
    var blockRowLimit: Int?

    @Flag(help: "Skip the llama.cpp reference run.")
    var noLlamacpp = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    var branchCounts: [Int] { branches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        if branchCounts.isEmpty || branchCounts.contains(where: { $0 < 1 }) {
            throw ValidationError("--branches must list positive integers, such as 1,4,16")
        }
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
        if let quantizedRowLimit, quantizedRowLimit < 0 {
            throw ValidationError("--quantized-row-limit must be 0 (sgemm only) or more")
        }
    }

    func run() throws {
        BLASCoreSelection.reexecIfNeeded()
        let log: (String) -> Void = { FileHandle.standardError.write(Data(("bench engine: " + $0 + "\n").utf8)) }
        let file = try GGUFFile(path: model)
        let prompt = try EngineBenchmark.chatPrompt(file: file)
        log("loading \(model); prompt of \(prompt.count) tokens")
        let loaded = try LlamaModel(file: file)
        var settings = EngineBenchmark.Settings(prompt: prompt)
        settings.branches = branchCounts
        settings.steps = steps
        settings.threads = threads
        settings.quantizedRowLimit = quantizedRowLimit
        settings.blockRowLimit = blockRowLimit
        let llama = noLlamacpp ? nil : LlamaCppReference()
        try llama?.ensureInstalled(progress: log)
        var arbor: EngineBenchmark.Result? = nil
        var reference: LlamaCppReference.Result? = nil
        for round in 1...rounds {
            log("round \(round) of \(rounds): arbor")
            let ours = try EngineBenchmark(model: loaded).run(settings, progress: log)
            arbor = arbor.map { $0.keepingBest(of: ours) } ?? ours
            if let llama {
                log("round \(round) of \(rounds): llama.cpp")
                let theirs = try llama.run(model: model, prompt: prompt, branches: branchCounts, steps: steps, threads: threads)
                reference = reference.map { $0.keepingBest(of: theirs) } ?? theirs
            }
        }
        guard let arbor else { return }
        print(EngineBenchmark.report(arbor: arbor, llamacpp: reference, branches: branchCounts, json: json))
    }
}
