import Foundation
import Testing
import TestSupport

/// Horizontal scaling (issue 9): workers join a running job and get work at once, throughput
/// rises with them, and workers stopped with SIGTERM drain without losing anything.
@Suite(.serialized)
struct ScaleTests {
    /// The scripted backend sleeps this long per tree step (1–3 steps per request), so a worker
    /// with one slot serves a few requests per second whatever the machine's load: the rate is
    /// set by the latency, not by the CPU, and four workers must be clearly faster than one.
    static let stepLatencyMs = 100
    static let batches = 16
    static let tasksPerBatch = 8

    @Test func workersJoinMidJobThenDrainWithoutLoss() throws {
        let cluster = try LocalCluster(
            batches: Self.batches, tasksPerBatch: Self.tasksPerBatch, stepLatencyMs: Self.stepLatencyMs)
        try cluster.startWorker(slots: 1, id: "first")
        let started = cluster.wait(timeout: 30) { ((try? status(cluster))?.results ?? 0) >= 4 }
        #expect(started, "\(cluster.coordinator.text)")
        let alone = try rate(cluster, over: 3)

        // Three more join mid-job; each is given work as soon as it registers.
        let joiners = ["second", "third", "fourth"]
        for id in joiners { try cluster.startWorker(slots: 1, id: id) }
        let joined = Date()
        let allServing = cluster.wait(timeout: 15) {
            guard let snapshot = try? status(cluster) else { return false }
            return (["first"] + joiners).allSatisfy { (snapshot.completedBy[$0] ?? 0) > 0 }
        }
        #expect(allServing, "every worker serves after joining: \((try? status(cluster))?.completedBy ?? [:])")
        let firstWorkAfter = Date().timeIntervalSince(joined)
        let together = try rate(cluster, over: 3)
        let figures = "1 worker \(alone) results/s, 4 workers \(together) results/s, "
            + "all served \(firstWorkAfter) s after joining"
        #expect(together > 1.8 * alone, "\(figures)")
        print("scale: \(figures)")
        // The job must outlast the measurement; make it longer if this fails.
        #expect(try status(cluster).phase == "running")

        // Two leave with SIGTERM: they finish what they hold, deregister and exit 0.
        let leavers = Array(cluster.workers.suffix(2))
        for worker in leavers { worker.signal(SIGTERM) }
        for worker in leavers {
            #expect(worker.waitForExit(timeout: 30) == 0, "\(worker.text)")
        }
        for id in joiners.suffix(2) {
            #expect(
                cluster.coordinator.waitForLine(containing: "worker \(id) deregistered (drained)", timeout: 5) != nil,
                "\(cluster.coordinator.text)")
        }

        // The two that remain finish the job; nothing is lost or duplicated.
        #expect(cluster.coordinator.waitForExit(timeout: 120) == 0, "\(cluster.coordinator.text)")
        try expectCompleteBatches(cluster)
        let summary = cluster.coordinator.lines.first { $0.contains("requeued") } ?? ""
        #expect(summary.contains("requeued 0,"), "drained workers finish their work: \(summary)")
        #expect(summary.contains("duplicates dropped 0"), "\(summary)")
        #expect(cluster.coordinator.lines.filter { $0.contains("registered from") }.count == 4)
    }

    /// Every batch file is there, holds one tree per request and no trajectory twice.
    private func expectCompleteBatches(_ cluster: LocalCluster) throws {
        let trees = try cluster.jsonLines(in: "trees")
        #expect(trees.count == Self.batches)
        for (name, lines) in trees {
            #expect(lines.count == Self.tasksPerBatch, "\(name) has \(lines.count) trees")
        }
        let rows = try cluster.jsonLines(in: "batches")
        #expect(rows.count == Self.batches)
        for (name, lines) in rows {
            let keys = lines.map { "\($0["task_id"] ?? "")/\($0["leaf"] ?? "")" }
            #expect(!keys.isEmpty, "\(name) is empty")
            #expect(Set(keys).count == keys.count, "\(name) has duplicate rows")
        }
    }

    /// Results per second over `seconds`, from two status snapshots (counter and uptime).
    private func rate(_ cluster: LocalCluster, over seconds: Double) throws -> Double {
        let start = try status(cluster)
        Thread.sleep(forTimeInterval: seconds)
        let end = try status(cluster)
        return Double(end.results - start.results) / max(end.uptime - start.uptime, 1e-3)
    }

    /// The fields of `arbor status --json` this suite reads.
    private struct Snapshot {
        var phase: String
        var results: Int
        var uptime: Double
        var completedBy: [String: Int]
    }

    /// Asks the coordinator with `arbor status --json`, as a script would.
    private func status(_ cluster: LocalCluster) throws -> Snapshot {
        let query = try ChildProcess(
            Fixtures.arborBinary, ["status", "--control", cluster.controlEndpoint, "--json"])
        // The output pipe is read on another thread: wait for the whole document, not just the exit.
        var document: [String: Any]?
        let exited = query.waitForExit(timeout: 15) == 0
        _ = cluster.wait(timeout: exited ? 5 : 0) {
            document = try? JSONSerialization.jsonObject(with: Data(query.text.utf8)) as? [String: Any]
            return document != nil
        }
        guard let document, let job = document["job"] as? [String: Any],
              let counters = document["counters"] as? [String: Any],
              let workers = document["workers"] as? [[String: Any]]
        else {
            throw ClusterError(message: "arbor status --json failed:\n\(query.text)")
        }
        var completedBy: [String: Int] = [:]
        for worker in workers {
            if let id = worker["id"] as? String { completedBy[id] = worker["completed"] as? Int ?? 0 }
        }
        return Snapshot(
            phase: job["phase"] as? String ?? "",
            results: counters["results"] as? Int ?? 0,
            uptime: (job["uptime_s"] as? NSNumber)?.doubleValue ?? 0,
            completedBy: completedBy)
    }
}
