import ArborProtocol
import ArgumentParser
import Coordinator
import Foundation

/// `arbor advantages`: the coordinator's learning signal, recomputed offline from tree JSON.
struct AdvantagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advantages",
        abstract: "Recompute step rewards and fork-, trajectory- and token-level advantages of rollout trees.",
        discussion: """
            Reads trees in the tree JSON form (one per line, as in run_dir/trees/batch-NNNNNN.jsonl) and \
            scores the whole file as one batch with the same code the coordinator runs. Writes one JSON \
            line per tree, in input order:
              {"task_id", "nodes": [{"id", "reward", "fork_advantage"}],
               "trajectories": [{"leaf", "reward", "advantage", "weight", "token_advantages"}]}
            token_advantages holds one value per step on the path, root side first.

            The AEPO decision (batch entropy, bounds, masking before and after) goes to stderr as one \
            line, or as JSON with --aepo-json, so the output keeps exactly one line per tree.

            The job file needs only the learning-signal keys (tree, reward, advantage); a full job.yaml \
            works too.

            Example:
              arbor advantages --config job.yaml --input runs/demo/trees/batch-000001.jsonl --output adv.jsonl
            """)

    @Option(help: "Job file whose tree, reward and advantage settings apply.")
    var config: String

    @Option(help: "Trees in the tree JSON form, one per line ('-' reads standard input).")
    var input: String

    @Option(help: "Where to write the per-tree lines (default: standard output).")
    var output: String?

    @Option(help: "Also write the batch's training rows (JSONL) to this file.")
    var rows: String?

    @Flag(help: "Start with AEPO masking on, as if the previous batch had turned it on (default: off).")
    var aepoOn = false

    @Flag(help: "Print the AEPO decision on stderr as JSON instead of a sentence.")
    var aepoJSON = false

    func run() throws {
        let job = try JobConfig.load(path: config, requirement: .signalOnly)
        let trees = try RolloutTreeRecord.readJSONL(try readText(input), file: input)
        let signal = try LearningSignal.score(batch: trees, config: job, aepo: AEPOState(maskingOn: aepoOn))
        try write(signal.trees.map { $0.jsonLine() }, to: output)
        if let rows { try write(signal.rows.map { $0.jsonLine() }, to: rows) }
        var report = signal.decision.summary
        if aepoJSON {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            report = String(decoding: try encoder.encode(signal.decision), as: UTF8.self)
        }
        if !signal.filteredTaskIDs.isEmpty {
            report += "\nDAPO: \(signal.filteredTaskIDs.count) zero-variance trees filtered"
        }
        FileHandle.standardError.write(Data((report + "\n").utf8))
    }

    private func readText(_ path: String) throws -> String {
        if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CoordinatorError(.io, "cannot read \(path)", cause: "\(error)")
        }
    }

    private func write(_ lines: [String], to path: String?) throws {
        let text = lines.map { $0 + "\n" }.joined()
        guard let path else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CoordinatorError(.io, "cannot write \(path)", cause: "\(error)")
        }
    }
}
