import ArborProtocol
import Foundation
import Testing
import TestSupport

/// CURVE authentication between real `arbor` processes on loopback (issue 6, part 4): a listed
/// worker registers and serves, a worker with a wrong key is refused (never registered, the
/// refusal logged with its key and counted), and a plain-TCP peer cannot talk to the coordinator.
@Suite(.serialized)
struct CurveTests {
    /// Key files written by `arbor keygen --out` into a fresh directory.
    struct KeyFolder {
        let url: URL

        init(workers: Int) throws {
            url = Fixtures.temporaryDirectory("arbor-keys")
            let keygen = try ChildProcess(
                Fixtures.arborBinary, ["keygen", "--out", url.path, "--workers", "\(workers)"])
            guard keygen.waitForExit(timeout: 30) == 0 else {
                throw ClusterError(message: "arbor keygen failed:\n\(keygen.text)")
            }
        }

        func path(_ name: String) -> String { url.appendingPathComponent(name).path }

        func publicKey(_ name: String) throws -> String {
            try String(contentsOfFile: path(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// `arbor worker` arguments presenting worker-`index`'s key to the coordinator of `server`.
        func workerArguments(_ index: Int, server: KeyFolder) -> [String] {
            ["--curve-secret", path("worker-\(index).key"), "--server-key", server.path("coordinator.pub")]
        }
    }

    /// A one-batch CURVE cluster admitting the workers of `keys`.
    func curveCluster(_ keys: KeyFolder, batches: Int = 1) throws -> LocalCluster {
        try LocalCluster(
            batches: batches, tasksPerBatch: 4,
            coordinatorArguments: [
                "--curve-secret", keys.path("coordinator.key"), "--authorized-keys", keys.path("authorized_keys"),
            ])
    }

    /// The coordinator's status JSON over its (plain, loopback) control socket.
    func status(_ cluster: LocalCluster) async throws -> [String: Any] {
        let context = ZMQContext()
        let control = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer { control.close() }
        let reply = try await control.request(.statusQuery(Arbor_V1_StatusQuery()), timeout: 10)
        guard case .statusReply(let status) = reply.body else {
            throw ClusterError(message: "no status reply: \(reply)")
        }
        return try JSONSerialization.jsonObject(with: Data(status.statusJson.utf8)) as? [String: Any] ?? [:]
    }

    @Test func wrongKeyIsRefusedWhileAListedWorkerRegistersAndServes() async throws {
        let keys = try KeyFolder(workers: 1)
        let strangers = try KeyFolder(workers: 1)
        defer {
            try? FileManager.default.removeItem(at: keys.url)
            try? FileManager.default.removeItem(at: strangers.url)
        }
        let cluster = try curveCluster(keys)
        #expect(cluster.coordinator.text.contains("1 worker key(s) authorized"), "\(cluster.coordinator.text)")

        // A worker that knows the coordinator's public key but presents an unlisted key of its own.
        let stranger = try cluster.startWorker(
            id: "stranger", extraArguments: strangers.workerArguments(1, server: keys))
        let strangerKey = try strangers.publicKey("worker-1.pub")
        let refusal = cluster.coordinator.waitForLine(containing: "refused CURVE client", timeout: 15)
        #expect(refusal?.contains(strangerKey) == true, "\(cluster.coordinator.text)")
        // The status counts the refusal (it is refreshed a few times a second).
        var refusedStatus: [String: Any] = [:]
        for _ in 0..<20 {
            refusedStatus = try await status(cluster)
            let counters = refusedStatus["counters"] as? [String: Any] ?? [:]
            if counters["curve_refusals"] as? Int ?? 0 >= 1 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let counters = refusedStatus["counters"] as? [String: Any] ?? [:]
        #expect((counters["curve_refusals"] as? Int ?? 0) >= 1, "\(counters)")
        #expect((refusedStatus["workers"] as? [Any])?.isEmpty == true)

        // The listed worker registers and the job completes on it alone.
        try cluster.startWorker(id: "trusted", extraArguments: keys.workerArguments(1, server: keys))
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinator.text)")
        #expect(cluster.coordinator.text.contains("worker trusted registered"))
        #expect(!cluster.coordinator.text.contains("worker stranger registered"), "\(cluster.coordinator.text)")
        #expect(cluster.batchFilesWritten == 1)
        stranger.stop()
    }

    @Test func plainTCPPeerCannotTalkToACurveCoordinator() async throws {
        let keys = try KeyFolder(workers: 1)
        defer { try? FileManager.default.removeItem(at: keys.url) }
        let cluster = try curveCluster(keys)

        // A raw DEALER without CURVE: a register and a garbage frame get no answer at all.
        let context = ZMQContext()
        let peer = try DealerClient(context: context, endpoint: cluster.workerEndpoint)
        defer { peer.close() }
        var register = RegisterMessage()
        register.workerID = "plain-peer"
        register.slots = 1
        peer.send(.register(register))
        peer.send([[0xde, 0xad, 0xbe, 0xef]])
        #expect(await peer.nextMessage(timeout: 3) == nil, "the CURVE coordinator answered a plain-TCP peer")

        // An `arbor worker` without keys never registers either.
        let plainWorker = try cluster.startWorker(id: "plain-worker")
        try await Task.sleep(for: .seconds(2))
        let snapshot = try await status(cluster)
        #expect((snapshot["workers"] as? [Any])?.isEmpty == true, "\(snapshot)")
        let counters = snapshot["counters"] as? [String: Any] ?? [:]
        // Nothing reached the decoder: the frames died in the handshake.
        #expect(counters["bad_frames"] as? Int == 0, "\(counters)")
        #expect(!cluster.coordinator.text.contains("registered from"), "\(cluster.coordinator.text)")
        plainWorker.stop()
    }

    @Test func nonLoopbackBindWithoutKeysRefusesToStartUnlessInsecure() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let job = directory.appendingPathComponent("job.yaml")
        let tasks = Fixtures.packageRoot.appendingPathComponent("examples/tasks/math.jsonl").path
        try "model: {backend: scripted}\nbatch: {tasks: 2, count: 1}\ntask_sets: [{type: math, path: \(tasks)}]\n"
            .write(to: job, atomically: true, encoding: .utf8)
        let common = [
            "coordinator", "--config", job.path, "--run-dir", directory.appendingPathComponent("run").path,
            "--bind", "tcp://0.0.0.0:0", "--control", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0",
        ]
        let refused = try ChildProcess(Fixtures.arborBinary, common)
        let code = refused.waitForExit(timeout: 30)
        #expect(code != nil && code != 0)
        #expect(refused.text.contains("--insecure"), "\(refused.text)")
        #expect(refused.text.contains("arbor keygen"), "\(refused.text)")

        let insecure = try ChildProcess(Fixtures.arborBinary, common + ["--insecure"])
        #expect(insecure.waitForLine(containing: "workers: tcp://0.0.0.0:", timeout: 30) != nil, "\(insecure.text)")
        insecure.stop()
    }
}
