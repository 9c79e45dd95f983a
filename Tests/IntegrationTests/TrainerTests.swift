import ArborProtocol
import Foundation
import Testing
import TestSupport

/// The trainer stream against real processes (issue 8): backpressure while nobody pulls, a
/// policy published mid-job, and a coordinator killed and restarted between pulls — acknowledged
/// batches never come again, the unacknowledged one does, and the policy is remembered.
@Suite(.serialized)
struct TrainerTests {
    /// A control-socket client that re-sends its request when no answer comes (the coordinator
    /// may be restarting) and skips answers to earlier, abandoned requests.
    struct Trainer {
        let client: DealerClient

        func call<Reply>(_ body: Body, timeout: Double = 120, _ match: (Body) -> Reply?) async throws -> Reply {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                client.send(body)
                let resend = Date().addingTimeInterval(5)
                while Date() < resend {
                    guard let envelope = try? await client.nextEnvelope(timeout: 1), let reply = envelope.body else { continue }
                    if case .error(let error) = reply { throw ProtocolError(.transport, "\(error.code): \(error.message)") }
                    if let matched = match(reply) { return matched }
                }
            }
            throw ProtocolError(.transport, "no \(body.name) answer within \(timeout) s")
        }

        func pull() async throws -> Arbor_V1_TrainingBatch {
            try await call(.batchPull(Arbor_V1_BatchPull())) { if case .trainingBatch(let batch) = $0 { batch } else { nil } }
        }

        func ack(_ index: UInt64) async throws {
            var ack = Arbor_V1_BatchAck()
            ack.batchIndex = index
            _ = try await call(.batchAck(ack)) { if case .batchAck(let echo) = $0, echo.batchIndex == index { true } else { nil } }
        }

        func publish(version: UInt64, path: String) async throws -> Arbor_V1_PolicyPublished {
            var update = Arbor_V1_PolicyUpdate()
            update.version = version
            update.weightsPath = path
            return try await call(.policyUpdate(update)) { if case .policyPublished(let reply) = $0 { reply } else { nil } }
        }

        /// The status document's `trainer` and `job` sections.
        func status() async throws -> (trainer: [String: Any], job: [String: Any]) {
            let json = try await call(.statusQuery(Arbor_V1_StatusQuery())) {
                if case .statusReply(let reply) = $0 { reply.statusJson } else { nil }
            }
            let document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
            return (document["trainer"] as? [String: Any] ?? [:], document["job"] as? [String: Any] ?? [:])
        }

        /// Polls the status until `count` batches are complete or `timeout` seconds pass; returns
        /// the last status read.
        func status(batchesCompleted count: Int, timeout: Double) async throws -> (trainer: [String: Any], job: [String: Any]) {
            let deadline = Date().addingTimeInterval(timeout)
            var current = try await status()
            while current.job["batches_completed"] as? Int != count, Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
                current = try await status()
            }
            return current
        }
    }

    /// The policy versions of a served batch's rows.
    func versions(_ batch: Arbor_V1_TrainingBatch) -> [Int] {
        batch.rowsJsonl.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["policy_version"] as? Int
        }
    }

    @Test func trainerStreamSurvivesACoordinatorRestart() async throws {
        let cluster = try LocalCluster(
            batches: 6, tasksPerBatch: 4, stepLatencyMs: 20,
            extraYAML: "trainer: {required: true, lease_timeout_s: 60}\nmax_staleness: 0")
        for index in 1...2 { try cluster.startWorker(id: "w\(index)") }
        let context = ZMQContext()
        let client = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer { client.close() }
        let trainer = Trainer(client: client)

        // Nobody pulls: two batches complete (max_batches_in_flight) and then nothing opens.
        _ = try await trainer.status(batchesCompleted: 2, timeout: 30)
        try await Task.sleep(for: .seconds(1))
        let waiting = try await trainer.status()
        #expect(waiting.job["batches_completed"] as? Int == 2)
        #expect(waiting.job["batches_open"] as? Int == 0, "a batch opened with two unpulled")
        #expect(waiting.trainer["batches_unpulled"] as? Int == 2)
        #expect(waiting.trainer["backpressure"] as? Bool == true)

        let first = try await trainer.pull()
        #expect(first.batchIndex == 1)
        #expect(!versions(first).isEmpty && versions(first).allSatisfy { $0 == 0 })
        try await trainer.ack(first.batchIndex)
        let second = try await trainer.pull()
        #expect(second.batchIndex == 2)
        let published = try await trainer.publish(version: 1, path: cluster.jobPath)
        #expect(published.version == 1)
        #expect(published.workersNotified == 2)

        // The coordinator dies before batch 2 is acknowledged.
        try cluster.restartCoordinator()
        let restarted = try await trainer.status()
        #expect(restarted.trainer["policy_version"] as? Int == 1, "the published policy survives the restart")
        #expect(restarted.trainer["batches_acked"] as? Int == 1)

        var served: [UInt64] = []
        var stale = 0
        var lastStatus: [String: Any] = [:]
        while true {
            let batch = try await trainer.pull()
            if batch.endOfJob { break }
            served.append(batch.batchIndex)
            stale += Int(batch.staleRowsDropped)
            #expect(versions(batch).allSatisfy { $0 == 1 }, "batch \(batch.batchIndex) has rows of an old policy")
            #expect(batch.policyVersion == 1)
            try await trainer.ack(batch.batchIndex)
            // Read while the coordinator surely runs: it exits soon after the end-of-job answer.
            lastStatus = try await trainer.status().trainer
        }
        #expect(served == [2, 3, 4, 5, 6], "acknowledged batch 1 again, or lost one: \(served)")
        #expect(stale > 0, "batch 2 was sampled with version 0; its rows must be dropped")
        #expect(lastStatus["stale_rows_dropped"] as? Int == stale)
        #expect(lastStatus["batches_acked"] as? Int == 6)
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinatorLog)")
    }

    /// A builtin worker loads the weights a trainer publishes (a copy of the model under another
    /// name stands in for a new checkpoint), reports the version, and samples the next batch with
    /// them; rows of the old version are dropped from the stream.
    @Test func builtinWorkerReloadsPublishedWeights() async throws {
        let modelPath = try #require(Fixtures.modelPath, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf")
        let cluster = try LocalCluster(
            batches: 3, tasksPerBatch: 2, model: "{backend: builtin, path: \(modelPath)}",
            extraYAML: "sampling: {max_step_tokens: 8}\ntrainer: {required: true}\nmax_staleness: 0")
        let checkpoint = cluster.directory.appendingPathComponent("policy-v1.gguf").path
        try FileManager.default.copyItem(atPath: modelPath, toPath: checkpoint)
        let worker = try cluster.startWorker(slots: 2, id: "engine", backend: "builtin")
        let context = ZMQContext()
        let client = try DealerClient(context: context, endpoint: cluster.controlEndpoint)
        defer { client.close() }
        let trainer = Trainer(client: client)

        // Batches 1 and 2 are sampled with the job's model; then the trainer publishes version 1.
        let status = try await trainer.status(batchesCompleted: 2, timeout: 120)
        #expect(status.job["batches_completed"] as? Int == 2, "\(cluster.coordinatorLog)")
        let published = try await trainer.publish(version: 1, path: checkpoint)
        #expect(published.workersNotified == 1)
        #expect(worker.waitForLine(containing: "loading policy version 1 from \(checkpoint)", timeout: 60) != nil, "\(worker.text)")
        #expect(cluster.coordinator.waitForLine(containing: "worker engine serves policy version 1", timeout: 60) != nil)

        var rows: [UInt64: [Int]] = [:]
        var stale = 0
        while true {
            let batch = try await trainer.pull()
            if batch.endOfJob { break }
            rows[batch.batchIndex] = versions(batch)
            stale += Int(batch.staleRowsDropped)
            try await trainer.ack(batch.batchIndex)
        }
        #expect(rows[1] == [] && rows[2] == [], "rows of version 0 are beyond max_staleness 0")
        #expect(stale == 2 * 2 * 4, "two batches of 2 tasks × 4 trajectories were dropped")
        #expect(rows[3]?.isEmpty == false && rows[3]?.allSatisfy { $0 == 1 } == true, "batch 3: \(rows[3] ?? [])")
        #expect(cluster.coordinator.waitForExit(timeout: 60) == 0, "\(cluster.coordinatorLog)")
    }
}
