import ArborProtocol
import Testing
@testable import Coordinator

/// The coordinator's dispatch state machine with a manual clock: slots, heartbeats, requeue,
/// duplicates, first-result-wins (issue 2).
struct CoordinatorCoreTests {
    /// A core whose batches are `perBatch` requests named b<batch>-<slot>.
    func makeCore(batches: Int = 2, perBatch: Int = 4, inFlight: Int = 2) -> CoordinatorCore {
        var opened = 0
        return CoordinatorCore(
            settings: .init(
                coordinatorID: "c", batchCount: batches, maxBatchesInFlight: inFlight, heartbeatInterval: 1,
                heartbeatLiveness: 3, jobYAML: "name: t\n"),
            now: 0,
            nextBatch: {
                opened += 1
                return (0..<perBatch).map { slot in
                    var request = RolloutRequest()
                    request.requestID = RequestPlanner.requestID(batch: opened, slot: slot)
                    request.attempt = 1
                    request.task.taskType = slot.isMultiple(of: 2) ? "math" : "search_qa"
                    return request
                }
            })
    }

    func envelope(_ body: Body) -> Envelope {
        var envelope = Envelope()
        envelope.protocolVersion = Wire.protocolVersion
        envelope.body = body
        return envelope
    }

    func register(_ core: inout CoordinatorCore, _ id: String, slots: UInt32, now: Double = 0, holding: [String] = [])
        -> [CoordinatorCore.Action]
    {
        var message = RegisterMessage()
        message.workerID = id
        message.slots = slots
        message.inFlightRequestIds = holding
        return core.received(envelope(.register(message)), from: Array(id.utf8), now: now)
    }

    func dispatched(_ actions: [CoordinatorCore.Action], to id: String? = nil) -> [String] {
        actions.compactMap {
            guard case .send(let identity, .rolloutRequest(let request)) = $0 else { return nil }
            if let id, identity != Array(id.utf8) { return nil }
            return request.requestID
        }
    }

    func result(_ id: String) -> Envelope {
        envelope(.rolloutResult(Self.answered(id)))
    }

    /// A result of request `id` whose tree meets the contract: the prompt and one answered step.
    static func answered(_ id: String) -> RolloutResult {
        var result = RolloutResult()
        result.requestID = id
        var root = WireTreeNode()
        root.parent = -1
        var leaf = WireTreeNode()
        leaf.id = 1
        leaf.isLeaf = true
        leaf.outcome = 1
        result.tree.nodes = [root, leaf]
        return result
    }

    @Test func dispatchRespectsSlotsAndOpensBatchesUpToTheLimit() {
        var core = makeCore(batches: 5, perBatch: 4, inFlight: 2)
        _ = core.start(now: 0)
        #expect(core.openBatches.count == 2)
        #expect(core.queueDepth == 8)
        let first = register(&core, "a", slots: 3)
        #expect(dispatched(first).count == 3)
        let second = register(&core, "b", slots: 2)
        #expect(dispatched(second).count == 2)
        #expect(core.inFlightCount == 5)
        #expect(core.queueDepth == 3)
        #expect(core.queueDepthByType.values.reduce(0, +) == 3)
    }

    @Test func aWorkerRegisteringAfterTheDrainIsAskedToDrainAtOnce() {
        var core = makeCore(batches: 1, perBatch: 2, inFlight: 1)
        _ = core.start(now: 0)
        for id in dispatched(register(&core, "a", slots: 2)) { _ = core.received(result(id), from: Array("a".utf8), now: 1) }
        #expect(core.isJobComplete)
        _ = core.drainAll(reason: "job complete")
        // A worker that was slow to start registers only now: no work will come, so it drains.
        let late = register(&core, "late", slots: 2, now: 2)
        let drains = late.compactMap { action -> String? in
            guard case .send(let identity, .drain(let drain)) = action, identity == Array("late".utf8) else { return nil }
            return drain.reason
        }
        #expect(drains == ["job complete"])
    }

    @Test func lostWorkerRequestsAreRequeuedAndJobCompletesWithoutDuplicates() {
        var core = makeCore(batches: 1, perBatch: 4, inFlight: 1)
        _ = core.start(now: 0)
        let toA = dispatched(register(&core, "a", slots: 2, now: 0))
        let toB = dispatched(register(&core, "b", slots: 2, now: 0))
        #expect(toA.count == 2 && toB.count == 2)
        // b keeps heartbeating, a goes silent past 3 s.
        for time in stride(from: 0.5, through: 3.0, by: 0.5) {
            _ = core.received(envelope(.heartbeat(HeartbeatMessage())), from: Array("b".utf8), now: time)
            _ = core.tick(now: time)
        }
        #expect(core.registry["a"] != nil)
        let reaped = core.tick(now: 3.6)
        #expect(core.registry["a"] == nil)
        #expect(core.counters.requeued == 2)
        #expect(core.counters.workersLost == 1)
        #expect(dispatched(reaped).isEmpty, "b's slots are still full")

        var actions: [CoordinatorCore.Action] = []
        for id in toB { actions += core.received(result(id), from: Array("b".utf8), now: 4) }
        let requeuedToB = dispatched(actions, to: "b")
        #expect(Set(requeuedToB) == Set(toA))
        for id in requeuedToB { actions += core.received(result(id), from: Array("b".utf8), now: 5) }
        let complete = actions.compactMap { if case .batchComplete(let batch) = $0 { batch } else { nil } }
        #expect(complete.count == 1)
        #expect(complete.first?.results.count == 4)
        #expect(actions.contains(.jobComplete))
        // a comes back late with a result that b already delivered: acknowledged, dropped, counted.
        _ = register(&core, "a", slots: 2, now: 6, holding: [toA[0]])
        let late = core.received(result(toA[0]), from: Array("a".utf8), now: 6.1)
        #expect(late.contains { if case .send(_, .resultAck) = $0 { true } else { false } })
        #expect(core.counters.duplicates == 1)
        #expect(core.counters.results == 4)
    }

    @Test func firstResultWinsAndTheOtherCopyIsCancelled() {
        var core = makeCore(batches: 1, perBatch: 1, inFlight: 1)
        _ = core.start(now: 0)
        let toA = dispatched(register(&core, "a", slots: 1, now: 0))
        #expect(toA == ["b000001-00"])
        // a is declared dead, the request moves to b; then a's result arrives first after all.
        _ = core.tick(now: 3.5)
        let toB = dispatched(register(&core, "b", slots: 1, now: 3.6))
        #expect(toB == ["b000001-00"])
        _ = register(&core, "a", slots: 1, now: 3.7, holding: ["b000001-00"])
        let actions = core.received(result("b000001-00"), from: Array("a".utf8), now: 3.8)
        #expect(actions.contains { if case .send(let to, .cancel) = $0 { to == Array("b".utf8) } else { false } })
        #expect(core.batchesCompleted == 1)
        _ = core.received(result("b000001-00"), from: Array("b".utf8), now: 3.9)
        #expect(core.counters.duplicates == 1)
    }

    @Test func unknownWorkersAreAskedToRegister() {
        var core = makeCore()
        let actions = core.received(envelope(.heartbeat(HeartbeatMessage())), from: Array("ghost".utf8), now: 0)
        guard case .send(_, .error(let error)) = actions.first else {
            Issue.record("no error reply")
            return
        }
        #expect(error.code == .notRegistered)
    }

    @Test func badFramesAreCountedAndAnswered() {
        var core = makeCore()
        let actions = core.badFrame(ProtocolError(.badFrame, "garbage"), from: Array("x".utf8))
        #expect(core.counters.badFrames == 1)
        guard case .send(_, .error(let error)) = actions.first else {
            Issue.record("no error reply")
            return
        }
        #expect(error.code == .badFrame)
    }

    /// A worker's error message is a `backend_error` under the job's `failures:` policy (by
    /// default: retried twice, then dropped), like a typed result would be.
    @Test func errorMessagesAreBackendErrorsUnderTheFailurePolicy() {
        var core = makeCore(batches: 1, perBatch: 1, inFlight: 1)
        _ = core.start(now: 0)
        _ = register(&core, "a", slots: 1)
        var actions: [CoordinatorCore.Action] = []
        for attempt in 1...3 {
            #expect(core.counters.givenUp == 0, "given up before attempt \(attempt)")
            actions = core.received(
                envelope(Wire.error(.internal, "backend crashed", requestID: "b000001-00")), from: Array("a".utf8),
                now: Double(attempt))
        }
        #expect(core.counters.failedAttempts == 3)
        #expect(core.counters.givenUp == 1)
        let complete = actions.compactMap { if case .batchComplete(let batch) = $0 { batch } else { nil } }
        #expect(complete.first?.failures["b000001-00"] == "backend_error: backend crashed")
        #expect(complete.first?.failedOutcomes["b000001-00"] == .backendError)
    }

    @Test func refusalsRequeueWithoutCountingAnAttempt() {
        var core = makeCore(batches: 1, perBatch: 1, inFlight: 1)
        _ = core.start(now: 0)
        _ = register(&core, "a", slots: 1)
        let actions = core.received(
            envelope(Wire.error(.refused, "draining", requestID: "b000001-00")), from: Array("a".utf8), now: 1)
        // Re-dispatched at once (a still has the slot); attempt stays 1.
        let again = actions.compactMap { action -> RolloutRequest? in
            if case .send(_, .rolloutRequest(let request)) = action { return request } else { return nil }
        }
        #expect(again.first?.attempt == 1)
        #expect(core.counters.failedAttempts == 0)
    }
}

/// Stragglers and abusive peers (issue 6).
struct CoordinatorCoreFaultTests {
    let base = CoordinatorCoreTests()

    func makeCore(straggler: Double) -> CoordinatorCore {
        CoordinatorCore(
            settings: .init(
                coordinatorID: "c", batchCount: 1, maxBatchesInFlight: 1, heartbeatInterval: 1, heartbeatLiveness: 100,
                jobYAML: "", stragglerTimeout: straggler),
            now: 0,
            nextBatch: {
                var request = RolloutRequest()
                request.requestID = "b000001-00"
                request.attempt = 1
                return [request]
            })
    }

    @Test func slowRequestGetsACopyAndTheFirstResultWins() {
        var core = makeCore(straggler: 5)
        _ = core.start(now: 0)
        #expect(base.dispatched(base.register(&core, "slow", slots: 1, now: 0)) == ["b000001-00"])
        #expect(base.dispatched(base.register(&core, "fast", slots: 1, now: 0)).isEmpty)
        #expect(base.dispatched(core.tick(now: 4)).isEmpty, "not a straggler yet")
        let copy = core.tick(now: 6)
        #expect(base.dispatched(copy, to: "fast") == ["b000001-00"])
        #expect(core.counters.stragglersRedispatched == 1)
        #expect(base.dispatched(core.tick(now: 20)).isEmpty, "one copy per request")
        let answered = core.received(base.result("b000001-00"), from: Array("fast".utf8), now: 7)
        #expect(answered.contains { if case .send(let to, .cancel) = $0 { to == Array("slow".utf8) } else { false } })
        #expect(answered.contains { if case .commitResult = $0 { true } else { false } })
        #expect(core.batchesCompleted == 1)
        // The slow worker's late result is a duplicate: acknowledged, dropped.
        _ = core.received(base.result("b000001-00"), from: Array("slow".utf8), now: 8)
        #expect(core.counters.duplicates == 1)
    }

    @Test func losingTheOriginalHolderKeepsTheCopyRunning() {
        var core = makeCore(straggler: 5)
        _ = core.start(now: 0)
        _ = base.register(&core, "slow", slots: 1, now: 0)
        _ = base.register(&core, "fast", slots: 1, now: 0)
        _ = core.tick(now: 6)
        var goodbye = Arbor_V1_Deregister()
        goodbye.workerID = "slow"
        _ = core.received(base.envelope(.deregister(goodbye)), from: Array("slow".utf8), now: 7)
        #expect(core.counters.requeued == 0, "the copy on fast carries on")
        _ = core.received(base.result("b000001-00"), from: Array("fast".utf8), now: 8)
        #expect(core.batchesCompleted == 1)
    }

    @Test func aPeerSendingOnlyGarbageIsIgnoredAndItsWorkRequeued() {
        var core = makeCore(straggler: 0)
        _ = core.start(now: 0)
        _ = base.register(&core, "noisy", slots: 1, now: 0)
        var last: [CoordinatorCore.Action] = []
        for _ in 0..<20 { last = core.badFrame(ProtocolError(.badFrame, "garbage"), from: Array("noisy".utf8), now: 1) }
        #expect(core.counters.peersIgnored == 1)
        #expect(core.counters.requeued == 1)
        #expect(core.registry["noisy"] == nil)
        #expect(last.contains { if case .send(_, .error(let error)) = $0 { error.code == .refused } else { false } })
        // Further frames from it, good or bad, get nothing.
        #expect(core.badFrame(ProtocolError(.badFrame, "more"), from: Array("noisy".utf8), now: 2).isEmpty)
        #expect(core.received(base.envelope(.heartbeat(HeartbeatMessage())), from: Array("noisy".utf8), now: 2).isEmpty)
    }
}
