import ArborProtocol
import Foundation
import Logging
import Synchronization
import Testing
@testable import Coordinator

/// `run_dir/eval.jsonl`: one line appended per evaluated version, read back by a restarted
/// coordinator so it does not evaluate a version twice (issue 13).
@Suite struct EvalWriterTests {
    @Test func linesAreAppendedAndReadBackSkippingATornLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arbor-evalw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = EvalWriter(runDirectory: directory)
        let written = Mutex<[UInt64]>([])
        for version: UInt64 in [0, 1] {
            var request = RolloutRequest()
            request.requestID = EvalSuite.requestID(version: version, slot: 0)
            request.task.taskType = "math"
            var round = EvalRound(version: version, requests: [request], now: 1)
            var result = RolloutResult()
            result.requestID = request.requestID
            round.results[request.requestID] = result
            round.closedAt = 3
            writer.submit(round) { outcome in
                if case .success(let report) = outcome { written.withLock { $0.append(report.policyVersion) } }
            }
        }
        writer.finish()
        #expect(written.withLock { $0 } == [0, 1])
        // A coordinator killed while appending leaves a torn last line: it is skipped.
        let handle = try FileHandle(forWritingTo: writer.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"policy_version": 2, "tas"#.utf8))
        try handle.close()
        let reports = writer.existingReports(logger: Logger(label: "test"))
        #expect(reports.map(\.policyVersion) == [0, 1])
        #expect(reports.allSatisfy { $0.tasks == 1 && $0.meanReward == -1 && $0.seconds == 2 })
    }
}
