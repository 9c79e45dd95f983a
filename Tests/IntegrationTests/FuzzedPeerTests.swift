import ArborProtocol
import Foundation
import Testing
import TestSupport

/// A live coordinator fed mutated frames on both its sockets keeps serving (issue 6, part 6):
/// status still answers, the bad frames are counted, and a real worker then finishes the job.
@Suite(.serialized)
struct FuzzedPeerTests {
    /// Valid frames a hostile peer starts from: what workers and control clients send.
    static func seedFrames() -> [Frame] {
        var register = RegisterMessage()
        register.workerID = "fuzz-peer"
        register.host = "fuzz"
        register.slots = 1
        register.backend = "scripted"
        var beat = HeartbeatMessage()
        beat.workerID = "fuzz-peer"
        beat.busySlots = 1
        var result = RolloutResult()
        result.requestID = "b000000-00"
        result.workerID = "fuzz-peer"
        result.taskID = "math-0001"
        var root = WireTreeNode()
        root.parent = -1
        root.tokenIds = [1, 2, 3]
        var leaf = WireTreeNode()
        leaf.id = 1
        leaf.tokenIds = [4, 5]
        leaf.logprobs = [-0.5, -0.25]
        leaf.isLeaf = true
        leaf.outcome = 1
        result.tree.nodes = [root, leaf]
        var goodbye = Arbor_V1_Deregister()
        goodbye.workerID = "fuzz-peer"
        let bodies: [Body] = [
            .register(register), .heartbeat(beat), .rolloutResult(result), .deregister(goodbye),
            .statusQuery(Arbor_V1_StatusQuery()), .policyLoaded(Arbor_V1_PolicyLoaded()),
        ]
        return bodies.map { Wire.encode($0) }
    }

    @Test func coordinatorKeepsServingUnderMutatedFrames() async throws {
        let cluster = try LocalCluster(batches: 1, tasksPerBatch: 4)
        let context = ZMQContext()
        let workerPeer = try DealerClient(context: context, endpoint: cluster.workerEndpoint)
        let controlPeer = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer {
            workerPeer.close()
            controlPeer.close()
        }
        var mutator = FrameMutator(seeds: Self.seedFrames(), seed: 0xF022)
        let count = 2_000
        for index in 0..<count {
            let (frame, _) = mutator.nextInput()
            // Mostly single frames; now and then a multi-frame message, which is also wrong.
            let message = index % 97 == 0 ? [frame, frame] : [frame]
            (index % 2 == 0 ? workerPeer : controlPeer).send(message)
        }

        // The coordinator still answers a fresh control client, and it counted bad frames.
        let control = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer { control.close() }
        let reply = try await control.request(.statusQuery(Arbor_V1_StatusQuery()), timeout: 15)
        guard case .statusReply(let status) = reply.body else {
            Issue.record("no status reply after \(count) mutated frames: \(reply)")
            return
        }
        let json = try JSONSerialization.jsonObject(with: Data(status.statusJson.utf8)) as? [String: Any] ?? [:]
        let counters = json["counters"] as? [String: Any] ?? [:]
        let badFrames = counters["bad_frames"] as? Int ?? 0
        print("live fuzz: \(count) mutated frames sent; coordinator counted \(badFrames) bad frames")
        #expect(badFrames > 0, "\(counters)")
        #expect(cluster.coordinator.isRunning, "\(cluster.coordinator.text)")

        // And it still schedules: a real worker completes the job.
        try cluster.startWorker(id: "after-fuzz")
        // A Register from a routing id bound to another worker id replaces that worker and
        // requeues what it held; phantom ids the fuzzer registered cannot strand requests.
        #expect(cluster.coordinator.waitForExit(timeout: 20) == 0, "\(cluster.coordinator.text)")
        #expect(cluster.batchFilesWritten == 1)
        #expect(cluster.coordinator.text.contains("worker after-fuzz registered"))
    }
}
