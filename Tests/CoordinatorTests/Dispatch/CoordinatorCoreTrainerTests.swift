import ArborProtocol
import Testing
@testable import Coordinator

/// What a trainer changes in the dispatch state machine: backpressure and policy versions
/// (issue 8).
extension CoordinatorCoreTests {
    func answerAll(_ core: inout CoordinatorCore, _ ids: [String], from worker: String, now: Double = 1) {
        for id in ids { _ = core.received(result(id), from: Array(worker.utf8), now: now) }
    }

    @Test func batchesWaitForTheTrainerOnceItIsAttached() {
        var core = makeCore(batches: 6, perBatch: 2, inFlight: 2)
        _ = core.trainerProgress(taken: 0, now: 0)
        _ = core.start(now: 0)
        #expect(core.batchesOpened == 2)
        answerAll(&core, dispatched(register(&core, "a", slots: 8)), from: "a")
        // Both batches are complete and unpulled: nothing new opens.
        #expect(core.batchesCompleted == 2)
        #expect(core.batchesOpened == 2)
        #expect(core.trainerBacklog == 2)
        #expect(core.isHeldForTrainer)
        // The trainer takes one: one batch opens and is dispatched to the idle worker, which
        // fills the allowance again (one open, one unpulled).
        let resumed = core.trainerProgress(taken: 1, now: 2)
        #expect(core.batchesOpened == 3)
        #expect(dispatched(resumed).count == 2)
        #expect(core.isHeldForTrainer)
        _ = core.trainerProgress(taken: 2, now: 2)
        #expect(core.batchesOpened == 4)
        #expect(!core.isHeldForTrainer, "two batches open: the in-flight limit holds, not the trainer")
        // Batch 3 completes unpulled; when the trainer detaches, batches open as without one.
        answerAll(&core, ["b000003-00", "b000003-01"], from: "a", now: 3)
        #expect(core.batchesOpened == 4)
        #expect(core.isHeldForTrainer)
        _ = core.trainerProgress(taken: nil, now: 3)
        #expect(core.batchesOpened == 5)
        #expect(core.trainerBacklog == nil)
    }

    @Test func publishedPolicyReachesWorkersAndOnlyTheyGetNewRequests() {
        var core = makeCore(batches: 2, perBatch: 4, inFlight: 1)
        _ = core.start(now: 0)
        let first = dispatched(register(&core, "a", slots: 1))
        _ = register(&core, "b", slots: 1)

        var stale = Arbor_V1_PolicyUpdate()
        stale.version = 0
        stale.weightsPath = "/w/v0.gguf"
        guard case .error(let refusal) = core.publishPolicy(stale, now: 1).reply else {
            Issue.record("a version that is not newer must be refused")
            return
        }
        #expect(refusal.code == .badRequest)

        var update = Arbor_V1_PolicyUpdate()
        update.version = 1
        update.weightsPath = "/w/v1.gguf"
        let (reply, actions) = core.publishPolicy(update, now: 1)
        guard case .policyPublished(let published) = reply else {
            Issue.record("expected PolicyPublished, got \(reply)")
            return
        }
        #expect(published.version == 1 && published.workersNotified == 2)
        let told = actions.compactMap { action -> [UInt8]? in
            guard case .send(let identity, .policyUpdate(let sent)) = action, sent.version == 1 else { return nil }
            return identity
        }
        #expect(Set(told) == [Array("a".utf8), Array("b".utf8)])
        #expect(actions.contains(.persist(.policyPublished(version: 1, weightsPath: "/w/v1.gguf"))))

        // a finishes its old request: nothing new for it until it serves version 1.
        answerAll(&core, first, from: "a")
        #expect(dispatched(core.tick(now: 1.5)).isEmpty)
        var loaded = Arbor_V1_PolicyLoaded()
        loaded.version = 1
        let afterLoad = core.received(envelope(.policyLoaded(loaded)), from: Array("a".utf8), now: 2)
        let sent = afterLoad.compactMap { action -> RolloutRequest? in
            guard case .send(_, .rolloutRequest(let request)) = action else { return nil }
            return request
        }
        #expect(sent.count == 1)
        #expect(sent.allSatisfy { $0.policyVersion == 1 }, "requests carry the version they are to be sampled with")

        // A worker that fails to load stays out of dispatch, and the reason is logged.
        loaded.error = "no such file"
        let failed = core.received(envelope(.policyLoaded(loaded)), from: Array("b".utf8), now: 2)
        #expect(dispatched(failed).isEmpty)
        #expect(failed.contains { if case .log(.error, let line) = $0 { line.contains("no such file") } else { false } })

        // A worker that joins later is told the current policy in its RegisterAck.
        let joined = register(&core, "c", slots: 1, now: 3)
        let ack = joined.compactMap { action -> RegisterAckMessage? in
            guard case .send(_, .registerAck(let ack)) = action else { return nil }
            return ack
        }.first
        #expect(ack?.policyVersion == 1)
        #expect(ack?.policyWeightsPath == "/w/v1.gguf")
    }
}
