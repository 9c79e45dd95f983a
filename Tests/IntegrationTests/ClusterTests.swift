import ArborProtocol
import Foundation
import Testing
import TestSupport

/// Coordinator and worker processes over TCP loopback (issue 2's integration checks).
@Suite(.serialized)
struct ClusterTests {
    /// Every batch file holds one tree per request and no request twice.
    func expectCompleteBatches(_ cluster: LocalCluster, batches: Int, tasksPerBatch: Int) throws {
        let trees = try cluster.jsonLines(in: "trees")
        #expect(trees.count == batches)
        for (name, lines) in trees {
            #expect(lines.count == tasksPerBatch, "\(name) has \(lines.count) trees")
        }
        let rows = try cluster.jsonLines(in: "batches")
        #expect(rows.count == batches)
        for (name, lines) in rows {
            // One row per trajectory: (task, leaf) pairs never repeat within a batch.
            let keys = lines.map { "\($0["task_id"] ?? "")/\($0["leaf"] ?? "")" }
            #expect(Set(keys).count == keys.count, "\(name) has duplicate rows")
            #expect(!lines.isEmpty)
        }
    }

    @Test func threeWorkersServeEveryRequestExactlyOnce() throws {
        let cluster = try LocalCluster(batches: 6)
        for index in 1...3 { try cluster.startWorker(id: "w\(index)") }
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinator.text)")
        try expectCompleteBatches(cluster, batches: 6, tasksPerBatch: 8)
        #expect(cluster.coordinator.text.contains("duplicates dropped 0"))
        // Every worker got work and left cleanly once the job was done.
        for worker in cluster.workers {
            #expect(worker.waitForExit(timeout: 10) == 0, "\(worker.text)\n--- coordinator:\n\(cluster.coordinator.text)")
        }
        let served = cluster.coordinator.lines.filter { $0.contains("registered from") }.count
        #expect(served == 3)
    }

    @Test func killedWorkerRequestsAreRequeued() throws {
        let cluster = try LocalCluster(batches: 6, stepLatencyMs: 60)
        let victim = try cluster.startWorker(id: "victim")
        try cluster.startWorker(id: "survivor-1")
        try cluster.startWorker(id: "survivor-2")
        #expect(cluster.wait(timeout: 30) { cluster.batchFilesWritten >= 1 })
        victim.signal(SIGKILL)
        #expect(cluster.coordinator.waitForExit(timeout: 90) == 0, "\(cluster.coordinator.text)")
        #expect(cluster.coordinator.waitForLine(containing: "worker victim missed its heartbeats", timeout: 1) != nil)
        try expectCompleteBatches(cluster, batches: 6, tasksPerBatch: 8)
        let summary = try #require(
            cluster.coordinator.lines.first { $0.contains("rollouts:") && $0.contains("requeued") }, "no summary line in:\n\(cluster.coordinator.text)")
        let requeued = try #require(summary.firstMatch(of: /requeued (\d+),/).flatMap { Int($0.1) }, "\(summary)")
        #expect(requeued > 0, "victim held requests when killed: \(summary)")
    }

    @Test func terminatedWorkerDrainsWithoutLoss() throws {
        let cluster = try LocalCluster(batches: 5, stepLatencyMs: 60)
        let leaver = try cluster.startWorker(id: "leaver")
        try cluster.startWorker(id: "stayer")
        #expect(cluster.wait(timeout: 30) { cluster.batchFilesWritten >= 1 })
        leaver.signal(SIGTERM)
        #expect(leaver.waitForExit(timeout: 30) == 0, "\(leaver.text)")
        #expect(cluster.coordinator.waitForLine(containing: "worker leaver deregistered (drained)", timeout: 5) != nil)
        #expect(cluster.coordinator.waitForExit(timeout: 90) == 0, "\(cluster.coordinator.text)")
        try expectCompleteBatches(cluster, batches: 5, tasksPerBatch: 8)
        #expect(cluster.coordinator.text.contains("requeued 0,"), "a drained worker's work is finished, not requeued")
    }

    @Test func garbageAndWrongVersionsGetErrorRepliesAndAreCounted() async throws {
        let cluster = try LocalCluster(batches: 1)
        let context = ZMQContext()
        let peer = try DealerClient(context: context, endpoint: cluster.workerEndpoint)
        defer { peer.close() }

        peer.send([[0xde, 0xad, 0xbe, 0xef, 0x01]])
        let garbage = try await peer.nextEnvelope(timeout: 10)
        guard case .error(let first) = garbage.body else { Issue.record("no Error reply to garbage"); return }
        #expect(first.code == .badFrame)

        var future = Envelope()
        future.protocolVersion = 2
        future.body = .heartbeat(HeartbeatMessage())
        peer.send([try future.serializedBytes()])
        let versioned = try await peer.nextEnvelope(timeout: 10)
        guard case .error(let second) = versioned.body else { Issue.record("no Error reply to version 2"); return }
        #expect(second.code == .unsupportedVersion)

        // The coordinator still serves: a worker joins and the job completes.
        try cluster.startWorker()
        let control = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer { control.close() }
        let reply = try await control.request(.statusQuery(Arbor_V1_StatusQuery()), timeout: 10)
        guard case .statusReply(let status) = reply.body else { Issue.record("no status reply"); return }
        #expect(status.statusJson.contains("\"bad_frames\":2"))
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinator.text)")
    }

    @Test func cWorkerOnProtobufCServesRequests() throws {
        let binary = Fixtures.packageRoot.appendingPathComponent("clients/c/build/arbor-c-worker").path
        try #require(
            FileManager.default.isExecutableFile(atPath: binary),
            "build the interop peer first: make -C clients/c (make test does)")
        let cluster = try LocalCluster(batches: 1, tasksPerBatch: 4)
        let peer = try cluster.startProgram(binary, ["--connect", cluster.workerEndpoint, "--worker-id", "c-peer"])
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinator.text)\n\(peer.text)")
        #expect(cluster.coordinator.text.contains("worker c-peer registered"))
        let trees = try cluster.jsonLines(in: "trees")
        let nodes = trees.values.flatMap { $0 }.compactMap { $0["nodes"] as? [[String: Any]] }
        #expect(nodes.count == 4)
        // Each of the 4 trajectories is one answered step under the prompt.
        for tree in nodes {
            #expect(tree.filter { $0["outcome"] != nil }.count == 4)
        }
        #expect(peer.waitForExit(timeout: 10) == 0, "\(peer.text)")
    }
}
