import Foundation
import Testing

@testable import Worker

/// `arbor bench rollout --json` (issue 15 item 4): the keys scripts read, per backend, and the
/// slots a builtin worker gets by default.
struct RolloutBenchmarkReportTests {
    static func run(treesPerSecond: Double, busy: Double, batch: Double) -> RolloutBenchmark.Run {
        RolloutBenchmark.Run(
            trees: 8, wallSeconds: 8 / treesPerSecond, treesPerSecond: treesPerSecond, generatedTokens: 1600,
            tokensPerSecond: 1600 * treesPerSecond / 8, busyShare: busy, meanBatch: batch, meanBatchCrowded: nil, toolCalls: 9,
            toolErrors: 2, nodes: 40)
    }

    static let report = RolloutBenchmark.Report(
        builtin: run(treesPerSecond: 0.3, busy: 0.95, batch: 18.5),
        openaiLlamacpp: run(treesPerSecond: 0.1, busy: 0.99, batch: 1), ratio: 3, builtinSharingOff: nil,
        shape: "n=4 f=2", server: "llama_cpp.server --n_threads 2", unavailableTools: [])

    @Test func jsonHasBothBackendsWithTheirFiguresAndTheRatio() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Self.report.json.utf8)) as? [String: Any])
        #expect(object["ratio"] as? Double == 3)
        for (key, expected) in [("builtin", Self.report.builtin), ("openai_llamacpp", Self.report.openaiLlamacpp)] {
            let backend = try #require(object[key] as? [String: Any], "no \(key) in \(Self.report.json)")
            #expect(backend["trees_per_s"] as? Double == expected.treesPerSecond)
            #expect(backend["tokens_per_s"] as? Double == expected.tokensPerSecond)
            #expect(backend["busy_share"] as? Double == expected.busyShare)
            #expect(backend["mean_batch"] as? Double == expected.meanBatch)
        }
        #expect(object["builtin_sharing_off"] == nil)
    }

    @Test func tableNamesBothBackendsAndTheServerCommand() {
        let lines = Self.report.table.split(separator: "\n").map(String.init)
        #expect(lines[2].hasPrefix("builtin") && lines[2].contains("18.5"))
        #expect(lines[3].hasPrefix("openai llama.cpp"))
        #expect(lines.contains("ratio (trees/s builtin ÷ llama.cpp server): 3.00× (target ≥ 2×)"))
        #expect(lines.contains("server: llama_cpp.server --n_threads 2"))
    }

    @Test(arguments: [(4, 2, 8), (4, 1, 4), (1, 2, 32), (3, 2, 11), (64, 2, 1)])
    func slotsFillTheEfficientBatch(trajectories: Int, threads: Int, slots: Int) {
        #expect(BuiltinBackend.requestSlots(trajectories: trajectories, threads: threads) == slots)
    }
}
