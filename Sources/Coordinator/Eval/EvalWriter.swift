import Foundation
import Logging

/// Appends eval reports to `run_dir/eval.jsonl`, on a serial queue of its own so the transport
/// thread never waits on the disk, and reads back what a previous coordinator wrote. Thread-safe.
final class EvalWriter: Sendable {
    private let queue = DispatchQueue(label: "arbor.eval-writer")
    /// `run_dir/eval.jsonl`.
    let url: URL

    init(runDirectory: URL) {
        url = runDirectory.appendingPathComponent("eval.jsonl")
    }

    /// The reports already in the file, oldest first; a line that does not decode (a crash while
    /// appending) is skipped and logged.
    func existingReports(logger: Logger) -> [EvalReport] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").enumerated().compactMap { index, line in
            do {
                return try EvalReport.decode(line: line)
            } catch {
                logger.warning("\(url.path):\(index + 1): not an eval report, skipped (\(error))")
                return nil
            }
        }
    }

    /// Scores `round` and appends its line; `done` runs on the writer's queue.
    func submit(_ round: EvalRound, done: @escaping @Sendable (Result<EvalReport, CoordinatorError>) -> Void) {
        queue.async { [url] in
            let report = EvalReport(round: round, timestamp: Date())
            let outcome = Result { try Self.append(report, to: url) }
            done(outcome.mapError { $0 as? CoordinatorError ?? CoordinatorError(.io, "\($0)") })
        }
    }

    /// Waits for every submitted report to be written.
    func finish() {
        queue.sync {}
    }

    private static func append(_ report: EvalReport, to url: URL) throws -> EvalReport {
        let line = Data((try report.jsonLine() + "\n").utf8)
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CoordinatorError(.io, "cannot open \(url.path): errno \(errno)") }
        defer { close(descriptor) }
        // One write(2) of the whole line with O_APPEND: a reader never sees half a line.
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { throw CoordinatorError(.io, "cannot append to \(url.path): errno \(errno)") }
        return report
    }
}
