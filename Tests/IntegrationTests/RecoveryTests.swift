import Foundation
import Testing
import TestSupport

/// Zero-loss operation (issue 6): coordinator restarts and a bounded chaos run.
@Suite(.serialized)
struct RecoveryTests {
    /// Every batch file is present once, with one tree per request, and no request's tree twice.
    func expectEveryRequestOnce(_ cluster: LocalCluster, batches: Int, tasksPerBatch: Int) throws {
        let trees = try cluster.jsonLines(in: "trees")
        #expect(trees.count == batches, "batch tree files: \(trees.keys.sorted())")
        for (name, lines) in trees {
            #expect(lines.count == tasksPerBatch, "\(name) has \(lines.count) trees, expected \(tasksPerBatch)")
        }
        let rows = try cluster.jsonLines(in: "batches")
        #expect(rows.count == batches)
        for (name, lines) in rows {
            let keys = lines.map { "\($0["task_id"] ?? "")/\($0["leaf"] ?? "")" }
            #expect(Set(keys).count == keys.count, "\(name) has duplicate rows")
        }
    }

    @Test func restartedCoordinatorContinuesTheJob() throws {
        let cluster = try LocalCluster(batches: 8, stepLatencyMs: 40)
        for index in 1...3 { try cluster.startWorker(id: "w\(index)") }
        #expect(cluster.wait(timeout: 60) { cluster.batchFilesWritten >= 2 })
        let writtenBefore = cluster.batchFilesWritten
        try cluster.restartCoordinator()
        #expect(cluster.coordinator.waitForLine(containing: "resuming integration", timeout: 10) != nil,
                "\(cluster.coordinator.text)")
        #expect(cluster.coordinator.waitForExit(timeout: 120) == 0, "\(cluster.coordinatorLog)")
        try expectEveryRequestOnce(cluster, batches: 8, tasksPerBatch: 8)
        // Batches written before the crash are not written again by the new coordinator.
        let rewritten = cluster.coordinator.lines.filter { $0.contains("batch ") && $0.contains(" written:") }.count
        #expect(rewritten <= 8 - writtenBefore + 1, "\(cluster.coordinator.text)")
    }

    @Test func chaosLosesNothing() throws {
        let batches = 40
        let cluster = try LocalCluster(batches: batches, stepLatencyMs: 150)
        var names: [String] = []
        for index in 1...4 {
            try cluster.startWorker(id: "chaos-\(index)")
            names.append("chaos-\(index)")
        }
        var generator = SystemRandomNumberGenerator()
        var kills = 0, stops = 0, coordinatorRestarts = 0, spawned = 4
        // Faults take turns (kill -9 a worker, SIGSTOP one for a while, kill -9 the coordinator and
        // restart it) so every kind is injected; victims and pauses are random.
        var turn = 0
        let deadline = Date().addingTimeInterval(100)
        while cluster.coordinator.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: Double.random(in: 0.8...1.6, using: &generator))
            guard cluster.coordinator.isRunning else { break }
            let live = cluster.workers.filter(\.isRunning)
            turn += 1
            switch turn % 3 {
            case 1 where !live.isEmpty:
                live.randomElement(using: &generator)!.signal(SIGKILL)
                kills += 1
                spawned += 1
                try cluster.startWorker(id: "chaos-\(spawned)")
            case 2 where !live.isEmpty:
                let victim = live.randomElement(using: &generator)!
                victim.signal(SIGSTOP)
                Thread.sleep(forTimeInterval: Double.random(in: 0.5...2.5, using: &generator))
                victim.signal(SIGCONT)
                stops += 1
            case 0 where coordinatorRestarts < 4:
                try cluster.restartCoordinator()
                coordinatorRestarts += 1
            default:
                break
            }
        }
        let status = cluster.coordinator.waitForExit(timeout: 120)
        print("chaos: \(kills) worker kill -9, \(stops) SIGSTOP/SIGCONT, \(coordinatorRestarts) coordinator kill -9 + restart; job exit status \(status.map(String.init) ?? "still running")")
        #expect(status == 0, "\(cluster.coordinatorLog.suffix(4000))")
        try expectEveryRequestOnce(cluster, batches: batches, tasksPerBatch: 8)
        #expect(kills > 0 && stops > 0 && coordinatorRestarts > 0, "the run was too short to inject every kind of fault")
    }
}
