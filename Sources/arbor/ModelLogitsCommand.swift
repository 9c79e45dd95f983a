import ArgumentParser
import Foundation
import Kernels
import Worker

/// `arbor model logits`: next-token logits of a token-id sequence, as JSON.
struct ModelLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the argmax at every position, the top logits at the last one and its log-sum-exp.",
        discussion: """
            Runs the ids through the built-in engine (f32 forward pass) and prints one JSON object:
            {"argmax": [per position], "top": [[id, logit], ...] at the last position, "logsumexp": x}.
            Example: arbor model logits --model models/SmolLM2-135M-Instruct.Q4_1.gguf --ids 1,9690,198 --top 5
            """)

    @OptionGroup var modelPath: ModelPathOptions

    @Option(help: ArgumentHelp("Comma-separated token ids.", valueName: "ids"))
    var ids: String

    @Option(help: "How many of the largest last-position logits to print.")
    var top: Int = 20

    var tokenIDs: [Int] { ids.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let parts = ids.split(separator: ",")
        if parts.isEmpty || tokenIDs.count != parts.count {
            throw ValidationError("--ids must be comma-separated integers, such as 1,9690,198")
        }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        BLASCoreSelection.reexecIfNeeded()
        var options = EngineOptions()
        options.cacheTokens = tokenIDs.count + 64
        let engine = InferenceEngine(model: try LlamaModel(path: modelPath.model), options: options)
        let logits = try engine.logitsAtEveryPosition(tokenIDs)
        let argmax = logits.map { row in row.indices.max { row[$0] < row[$1] || row[$0] == row[$1] && $0 > $1 } ?? 0 }
        let last = logits.last ?? []
        let best = last.indices.sorted { last[$0] > last[$1] || last[$0] == last[$1] && $0 < $1 }.prefix(top)
        let lse = last.withUnsafeBufferPointer { Softmax.logSumExp($0.baseAddress!, count: $0.count) }
        let topJSON = best.map { "[\($0), \(String(format: "%.4f", last[$0]))]" }.joined(separator: ", ")
        print("{\"argmax\": [\(argmax.map(String.init).joined(separator: ", "))], \"top\": [\(topJSON)], "
            + "\"logsumexp\": \(String(format: "%.4f", lse))}")
    }
}
