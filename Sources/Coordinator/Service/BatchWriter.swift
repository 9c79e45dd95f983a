import ArborProtocol
import Foundation
import Logging

/// Scores complete batches and writes their files, on a serial queue of its own so the transport
/// thread never waits on the disk.
///
/// For batch N it writes `trees/batch-N.jsonl` (the scored trees in the tree JSON form of
/// docs/learning-signal.md, so the signal can be recomputed offline) and then
/// `batches/batch-N.jsonl` (the training rows: those of the scored trees, then the weight-0 rows of
/// masked failures). A batch is written whatever failed in it; its summary says what was left out. Each
/// file is written aside and renamed into place, so it appears whole and exactly once. AEPO's
/// state is carried from batch to batch in order. Thread-safe.
final class BatchWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "arbor.batch-writer")
    private let runDirectory: URL
    private let config: JobConfig
    private let logger: Logger
    private let store: RunStore
    /// Touched only on `queue`.
    private var aepo = AEPOState()

    /// `aepoState` is the state after the last batch already written (a resumed job).
    init(runDirectory: URL, config: JobConfig, store: RunStore, aepoState: Data?, logger: Logger) throws {
        self.runDirectory = runDirectory
        self.config = config
        self.logger = logger
        self.store = store
        if let aepoState, let state = try? JSONDecoder().decode(AEPOState.self, from: aepoState) { aepo = state }
        let manager = FileManager.default
        do {
            for folder in ["batches", "trees"] {
                try manager.createDirectory(
                    at: runDirectory.appendingPathComponent(folder), withIntermediateDirectories: true)
            }
        } catch {
            throw CoordinatorError(.io, "cannot create the run directory \(runDirectory.path)", cause: "\(error)")
        }
    }

    /// Writes the job as run to `run_dir/job.yaml`.
    func writeJobAsRun(_ yaml: String) throws {
        try Self.writeAtomically(yaml, to: runDirectory.appendingPathComponent("job.yaml"))
    }

    /// Scores and writes a batch; `done` runs on the writer's queue.
    func submit(
        _ batch: CoordinatorCore.OpenBatch, done: @escaping @Sendable (Result<BatchSummary, any Error>) -> Void
    ) {
        queue.async { [self] in
            done(Result { try write(batch) })
        }
    }

    /// Reads the training rows of written batch `index`; `done` runs on the writer's queue, after
    /// every batch submitted before (so a batch just written is read whole).
    func readRows(
        of index: Int, done: @escaping @Sendable (Result<[Substring], CoordinatorError>) -> Void
    ) {
        queue.async { [runDirectory] in
            done(Result { try Self.rows(of: index, in: runDirectory) }.mapError { error in
                error as? CoordinatorError ?? CoordinatorError(.io, "cannot read batch \(index)", cause: "\(error)")
            })
        }
    }

    /// Waits for every submitted batch to be written.
    func finish() {
        queue.sync {}
    }

    private func write(_ batch: CoordinatorCore.OpenBatch) throws -> BatchSummary {
        // The core judged every result against the contract on arrival; a tree that still breaks
        // it is left out (and said so) rather than costing the whole batch.
        var results: [RolloutResult] = []
        var trees: [RolloutTreeRecord] = []
        var rejected: [String: String] = [:]
        for result in batch.requestIDs.compactMap({ batch.results[$0] }) {
            let tree = TreeConversion.record(from: result, taskType: batch.taskTypes[result.requestID] ?? "")
            do {
                _ = try TreeIndex(tree)
                results.append(result)
                trees.append(tree)
            } catch {
                rejected[result.requestID] = "\(error)"
                logger.error("batch \(batch.index): request \(result.requestID) left out: \(error)")
            }
        }
        var signal = try LearningSignal.score(batch: trees, config: config, aepo: aepo)
        aepo = signal.aepo
        let maskedIDs = batch.requestIDs.filter { batch.masked[$0] != nil }
        signal.rows += try LearningSignal.maskedRows(
            of: maskedIDs.compactMap { id in
                batch.masked[id].map { TreeConversion.record(from: $0, taskType: batch.taskTypes[id] ?? "") }
            },
            failures: maskedIDs.map { batch.failedOutcomes[$0] ?? .backendError }, config: config)
        let name = "batch-" + paddedBatchNumber(batch.index) + ".jsonl"
        let treeLines = try trees.map { try $0.jsonLine() }
        try Self.writeAtomically(
            treeLines.joined(separator: "\n") + "\n", to: runDirectory.appendingPathComponent("trees/" + name))
        let rowLines = try signal.rows.map { try $0.jsonLine() }
        try Self.writeAtomically(
            rowLines.joined(separator: "\n") + (rowLines.isEmpty ? "" : "\n"),
            to: runDirectory.appendingPathComponent("batches/" + name))
        // Marked written after both files are in place: a crash in between rewrites the same
        // files (same results, same AEPO state in), which leaves each batch file exactly once.
        try store.markWritten(batch: batch.index, aepoState: try JSONEncoder().encode(aepo))
        return BatchSummary(batch: batch, results: results, signal: signal, rejected: rejected)
    }

    /// The training rows (JSON lines) of written batch `index` in `runDirectory`. Throws
    /// `CoordinatorError.io` naming the file.
    static func rows(of index: Int, in runDirectory: URL) throws -> [Substring] {
        let url = runDirectory.appendingPathComponent("batches/batch-" + paddedBatchNumber(index) + ".jsonl")
        do {
            return try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        } catch {
            throw CoordinatorError(.io, "cannot read \(url.path)", cause: "\(error)")
        }
    }

    /// Writes to a temporary file beside `url`, then renames it into place (atomic on POSIX).
    static func writeAtomically(_ text: String, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        do {
            try Data(text.utf8).write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                throw CoordinatorError(.io, "cannot rename \(temporary.path) to \(url.path): errno \(errno)")
            }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw CoordinatorError(.io, "cannot write \(url.path)", cause: "\(error)")
        }
    }
}
