import Foundation
import Testing
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Typed rollout outcomes across real processes (issue 16): a scripted job with 5% of each
/// fault and three workers completes, writes every batch, counts its failures by reason in
/// `arbor status --json` and `/metrics`, and its rows are exactly the clean run's rows of the
/// requests that ended well, each once, plus weight-0 rows of the masked ones.
@Suite(.serialized)
struct FailureOutcomeTests {
    static let batches = 10
    static let tasksPerBatch = 8
    static let faults = "scripted_faults: {malformed_tree: 0.05, tool_infra_error: 0.05, backend_error: 0.05, hang: 0.05}"
    /// Contract violations dropped at once, infrastructure failures masked, the rest retried
    /// (twice, on another worker) and then dropped.
    static let policy = "failures: {contract_violation: drop, tool_infra_error: mask}"

    /// One training row as this test compares them.
    struct Row: Hashable {
        var batch: String
        var task: String
        var leaf: Int
        var ids: [Int]
    }

    func rows(_ cluster: LocalCluster) throws -> [(row: Row, weight: Double, failure: String?)] {
        try cluster.jsonLines(in: "batches").flatMap { name, lines in
            lines.map { line in
                (Row(batch: name, task: line["task_id"] as? String ?? "", leaf: line["leaf"] as? Int ?? -1,
                     ids: line["ids"] as? [Int] ?? []),
                 (line["weight"] as? NSNumber)?.doubleValue ?? -1, line["failure"] as? String)
            }
        }
    }

    /// Runs the job to completion with three workers; the coordinator lingers so its final
    /// status can be read.
    func run(faults: Bool) throws -> LocalCluster {
        let cluster = try LocalCluster(
            batches: Self.batches, tasksPerBatch: Self.tasksPerBatch, extraYAML: Self.policy,
            workerYAML: "rollout_timeout_s: 2" + (faults ? ", " + Self.faults : ""),
            coordinatorArguments: ["--linger", "120"])
        for index in 1...3 { try cluster.startWorker(id: "w\(index)") }
        let complete = cluster.coordinator.waitForLine(containing: "batch(es) complete", timeout: 240)
        try #require(complete != nil, "the job did not complete:\n\(cluster.coordinator.text)")
        #expect(cluster.wait(timeout: 30) { cluster.batchFilesWritten == Self.batches }, "\(cluster.coordinator.text)")
        return cluster
    }

    func httpURL(_ cluster: LocalCluster) throws -> String {
        let line = try #require(cluster.coordinator.waitForLine(containing: "http: http://", timeout: 5))
        return String(try #require(line.split(separator: " ").last))
    }

    func fetch(_ url: String) throws -> String {
        let done = DispatchSemaphore(value: 0)
        let body = Body()
        URLSession.shared.dataTask(with: try #require(URL(string: url))) { data, _, error in
            body.text = data.map { String(decoding: $0, as: UTF8.self) } ?? "error: \(String(describing: error))"
            done.signal()
        }.resume()
        try #require(done.wait(timeout: .now() + 20) == .success, "no answer from \(url)")
        return body.text
    }

    final class Body: @unchecked Sendable { var text = "" }

    @Test func faultyJobCompletesWithTypedFailuresAndOnlyCleanRows() throws {
        let reference = try run(faults: false)
        let clean = try rows(reference)
        #expect(clean.allSatisfy { $0.failure == nil })
        let cleanRows = Set(clean.map(\.row))
        #expect(cleanRows.count == clean.count, "the reference run has duplicate rows")

        let cluster = try run(faults: true)
        let url = try httpURL(cluster)

        // `arbor status --json`, as a script reads it.
        let query = try ChildProcess(Fixtures.arborBinary, ["status", "--url", url, "--json"])
        #expect(query.waitForExit(timeout: 20) == 0, "\(query.text)")
        var document: [String: Any]?
        _ = cluster.wait(timeout: 5) {
            document = try? JSONSerialization.jsonObject(with: Data(query.text.utf8)) as? [String: Any]
            return document != nil
        }
        let status = try #require(document, "arbor status --json printed:\n\(query.text)")
        let job = try #require(status["job"] as? [String: Any])
        #expect(job["phase"] as? String == "complete")
        #expect(job["batches_written"] as? Int == Self.batches)
        #expect(job["batches_failed"] as? Int == 0)
        let outcomes = try #require(status["outcomes"] as? [String: Any], "no outcomes in \(query.text)")
        let failed = try #require(outcomes["failed"] as? [String: [String: Int]])
        // Every injected fault shows up under its reason (the dice are fixed by the job's seed).
        for reason in ["contract_violation", "tool_infra_error", "backend_error", "timeout"] {
            #expect((failed[reason]?.values.reduce(0, +) ?? 0) > 0, "no \(reason) in \(failed)")
        }
        let dropped = try #require(outcomes["dropped"] as? [String: Int])
        let masked = try #require(outcomes["masked"] as? [String: Int])
        #expect((dropped["contract_violation"] ?? 0) == failed["contract_violation"]?.values.reduce(0, +))
        #expect((masked["tool_infra_error"] ?? 0) == failed["tool_infra_error"]?.values.reduce(0, +))
        #expect((outcomes["retried"] as? Int ?? 0) > 0)

        // /metrics carries the same counts, per reason and task type.
        let metrics = try fetch(url + "/metrics")
        for (reason, byType) in failed {
            for (type, count) in byType {
                let sample = "arbor_rollouts_failed_total{reason=\"\(reason)\",task_type=\"\(type)\"} \(count)"
                #expect(metrics.contains(sample), "missing \(sample) in:\n\(metrics)")
            }
        }

        // Rows: the clean run's rows of the requests that ended well, each exactly once; masked
        // rows have weight 0 and name their failure; nothing else.
        let faulty = try rows(cluster)
        let scored = faulty.filter { $0.failure == nil }
        let maskedRows = faulty.filter { $0.failure != nil }
        #expect(Set(scored.map(\.row)).count == scored.count, "a row appears twice")
        #expect(scored.allSatisfy { cleanRows.contains($0.row) }, "a row that the clean run does not have")
        #expect(!maskedRows.isEmpty)
        #expect(maskedRows.allSatisfy { $0.weight == 0 && $0.failure == "tool_infra_error" })
        // Requests are whole: a task of a batch has all its clean rows, or none (dropped or masked).
        let scoredTasks = Set(scored.map { "\($0.row.batch)/\($0.row.task)" })
        let maskedTasks = Set(maskedRows.map { "\($0.row.batch)/\($0.row.task)" })
        #expect(scoredTasks.isDisjoint(with: maskedTasks))
        let expected = cleanRows.filter { scoredTasks.contains("\($0.batch)/\($0.task)") }
        #expect(Set(scored.map(\.row)) == expected)
        let missing = Set(cleanRows.map { "\($0.batch)/\($0.task)" }).subtracting(scoredTasks)
        let droppedTotal = dropped.values.reduce(0, +)
        let maskedTotal = masked.values.reduce(0, +)
        #expect(missing.count == droppedTotal + maskedTotal, "\(missing.count) requests without rows; dropped \(dropped), masked \(masked)")
        // Batches with dropped trees say so.
        if droppedTotal > 0 { #expect(cluster.coordinator.text.contains("tree(s) dropped (")) }

        for worker in cluster.workers { worker.signal(SIGTERM) }
        cluster.coordinator.signal(SIGINT)
        #expect(cluster.coordinator.waitForExit(timeout: 30) == 0, "\(cluster.coordinator.text)")
    }

    /// A worker that drains (SIGTERM) past its `--drain-timeout` stops the rollouts still
    /// running, reports them `cancelled` and exits 0; the coordinator retries them on another
    /// worker, and the job completes with each request's rows once.
    @Test func aDrainPastItsTimeoutReportsItsRolloutsCancelledAndTheyAreRetriedElsewhere() throws {
        let cluster = try LocalCluster(batches: 2, tasksPerBatch: 4, coordinatorArguments: ["--linger", "120"])
        // Steps of a minute each: the slow worker's rollouts are still running when it drains.
        let slow = try cluster.startWorker(
            slots: 2, id: "slow", extraArguments: ["--scripted-latency-ms", "60000", "--drain-timeout", "2"])
        try #require(
            cluster.coordinator.waitForLine(containing: "worker slow registered", timeout: 30) != nil,
            "\(cluster.coordinator.text)")
        // Registration hands it two requests at once; give them a moment to start.
        Thread.sleep(forTimeInterval: 1)
        slow.signal(SIGTERM)
        #expect(slow.waitForExit(timeout: 30) == 0, "\(slow.text)")
        try cluster.startWorker(id: "fast")
        let complete = cluster.coordinator.waitForLine(containing: "batch(es) complete", timeout: 120)
        try #require(complete != nil, "the job did not complete:\n\(cluster.coordinator.text)")

        let query = try ChildProcess(Fixtures.arborBinary, ["status", "--url", try httpURL(cluster), "--json"])
        #expect(query.waitForExit(timeout: 20) == 0, "\(query.text)")
        let status = try #require(
            try? JSONSerialization.jsonObject(with: Data(query.text.utf8)) as? [String: Any], "\(query.text)")
        let outcomes = try #require(status["outcomes"] as? [String: Any], "no outcomes in \(query.text)")
        let failed = try #require(outcomes["failed"] as? [String: [String: Int]])
        #expect(failed["cancelled"]?.values.reduce(0, +) == 2, "\(failed)")
        #expect(outcomes["retried"] as? Int == 2)
        // Every task's rows once, none masked.
        let written = try rows(cluster)
        #expect(Set(written.map(\.row)).count == written.count, "a row appears twice")
        #expect(Set(written.map { "\($0.row.batch)/\($0.row.task)" }).count == 8)
        #expect(written.allSatisfy { $0.failure == nil })

        for worker in cluster.workers { worker.signal(SIGTERM) }
        cluster.coordinator.signal(SIGINT)
        #expect(cluster.coordinator.waitForExit(timeout: 30) == 0, "\(cluster.coordinator.text)")
    }
}
