import ArborProtocol
import Foundation

/// The trees a run directory holds (`trees/batch-NNNNNN.jsonl`), read and scored for the viewer:
/// during a job (the coordinator's HTTP server) and after it (`arbor serve`, `arbor show`).
///
/// Each view reads the batch file afresh and scores it with `LearningSignal.score`, as
/// `arbor advantages --config run_dir/job.yaml --input <file>` does, so what the viewer shows is
/// what that command prints. Thread-safe (immutable).
public struct RunTrees: Sendable {
    /// The run directory.
    public let runDirectory: URL
    /// The job whose reward and advantage settings score the trees.
    public let config: JobConfig

    /// Trees of `runDirectory`, scored under `config`.
    public init(runDirectory: URL, config: JobConfig) {
        self.runDirectory = runDirectory
        self.config = config
    }

    /// Trees of a finished run, scored under the job it ran (`run_dir/job.yaml`).
    ///
    /// - Throws: `CoordinatorError.io` when `run_dir/job.yaml` is missing; `JobConfigError` when
    ///   it does not parse.
    public init(runDirectory: URL) throws {
        let job = runDirectory.appendingPathComponent("job.yaml")
        guard FileManager.default.fileExists(atPath: job.path) else {
            throw CoordinatorError(.io, "\(runDirectory.path) is not a run directory: it has no job.yaml")
        }
        self.init(runDirectory: runDirectory, config: try JobConfig.load(path: job.path, requirement: .signalOnly))
    }

    /// The batches written so far, ascending.
    public func batches() -> [Int] {
        let folder = runDirectory.appendingPathComponent("trees")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("batch-"), name.hasSuffix(".jsonl") else { return nil }
            return Int(name.dropFirst("batch-".count).dropLast(".jsonl".count))
        }.sorted()
    }

    /// The view of `batch` (the latest when nil), one tree when `task` is given.
    ///
    /// - Throws: `CoordinatorError.notFound` for a batch not written (yet) or a task not in it;
    ///   `.io` when the file cannot be read; `.invalidTree` for a line that breaks the contract.
    public func view(batch: Int?, task: String?, text: TokenText?) throws -> TreeView {
        let written = batches()
        guard let chosen = batch ?? written.last else {
            throw CoordinatorError(.notFound, "\(runDirectory.path) holds no written batch yet")
        }
        guard written.contains(chosen) else {
            let range = written.isEmpty ? "none yet" : "\(written.first ?? 0)–\(written.last ?? 0)"
            throw CoordinatorError(.notFound, "batch \(chosen) is not written; written batches: \(range)")
        }
        let file = runDirectory.appendingPathComponent("trees/batch-" + paddedBatchNumber(chosen) + ".jsonl")
        let contents: String
        do {
            contents = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw CoordinatorError(.io, "cannot read \(file.path)", cause: "\(error)")
        }
        let records = try RolloutTreeRecord.readJSONL(contents, file: file.path)
        let signal = try LearningSignal.score(batch: records, config: config, aepo: AEPOState())
        return try TreeView(batch: chosen, batches: written, records: records, signal: signal, task: task, text: text)
    }
}
