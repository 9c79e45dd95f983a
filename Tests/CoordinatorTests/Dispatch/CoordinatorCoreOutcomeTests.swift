import ArborProtocol
import Testing
@testable import Coordinator

/// Typed outcomes in the dispatch state machine (issue 16): results judged on arrival, failed
/// attempts retried on another worker, dropped or masked; rollouts past the timeout cancelled.
struct CoordinatorCoreOutcomeTests {
    let base = CoordinatorCoreTests()

    func makeCore(perBatch: Int = 2, failures: FailureSettings = FailureSettings(), timeout: Double = 0)
        -> CoordinatorCore
    {
        var opened = 0
        return CoordinatorCore(
            settings: .init(
                coordinatorID: "c", batchCount: 1, maxBatchesInFlight: 1, heartbeatInterval: 1,
                heartbeatLiveness: 1000, jobYAML: "name: t\n", failures: failures, rolloutTimeout: timeout),
            now: 0,
            nextBatch: {
                opened += 1
                return (0..<perBatch).map { slot in
                    var request = RolloutRequest()
                    request.requestID = RequestPlanner.requestID(batch: opened, slot: slot)
                    request.attempt = 1
                    request.task.taskType = "math"
                    return request
                }
            })
    }

    func send(_ result: RolloutResult, to core: inout CoordinatorCore, from worker: String, now: Double = 1)
        -> [CoordinatorCore.Action]
    {
        core.received(base.envelope(.rolloutResult(result)), from: Array(worker.utf8), now: now)
    }

    /// A result whose tree breaks the contract: its leaf's parent is not in the tree.
    func malformed(_ id: String) -> RolloutResult {
        var result = CoordinatorCoreTests.answered(id)
        result.tree.nodes[1].parent = 42
        return result
    }

    /// A clean tree whose one tool call failed for infrastructure reasons.
    func infraFailure(_ id: String) -> RolloutResult {
        var result = CoordinatorCoreTests.answered(id)
        var call = WireToolCall()
        call.name = "python"
        call.error = "sandbox could not start"
        call.infraError = true
        result.tree.nodes[1].toolCalls = [call]
        return result
    }

    func completed(_ actions: [CoordinatorCore.Action]) -> [CoordinatorCore.OpenBatch] {
        actions.compactMap { if case .batchComplete(let batch) = $0 { batch } else { nil } }
    }

    func acked(_ actions: [CoordinatorCore.Action]) -> [String] {
        actions.compactMap { if case .send(_, .resultAck(let ack)) = $0 { ack.requestID } else { nil } }
    }

    @Test func aTreeBreakingTheContractIsRetriedOnAnotherWorkerAndNeverScored() {
        var core = makeCore(perBatch: 1)
        _ = core.start(now: 0)
        let toA = base.dispatched(base.register(&core, "a", slots: 1))
        #expect(toA.count == 1)
        _ = base.register(&core, "b", slots: 1)
        let id = toA[0]
        let actions = send(malformed(id), to: &core, from: "a")
        // Acknowledged (the worker stops re-sending) but not committed, and sent to b, not back to a.
        #expect(acked(actions) == [id])
        #expect(!actions.contains { if case .commitResult = $0 { true } else { false } })
        #expect(base.dispatched(actions, to: "b") == [id])
        #expect(base.dispatched(actions, to: "a").isEmpty)
        #expect(core.outcomes.failed[.contractViolation]?["math"] == 1)
        #expect(core.outcomes.retried == 1)
        // b answers well: only that tree is in the batch.
        let done = completed(send(CoordinatorCoreTests.answered(id), to: &core, from: "b"))
        #expect(done.count == 1)
        #expect(done.first?.results[id]?.tree.nodes[1].parent == 0)
        #expect(done.first?.failures.isEmpty == true)
    }

    @Test func exhaustedRetriesDropTheRequestAndTheBatchStillCompletes() throws {
        var failures = FailureSettings()
        failures.maxRetries = 1
        var core = makeCore(perBatch: 2, failures: failures)
        _ = core.start(now: 0)
        let ids = base.dispatched(base.register(&core, "a", slots: 2))
        #expect(ids.count == 2)
        var actions = send(CoordinatorCoreTests.answered(ids[0]), to: &core, from: "a")
        // The only worker: the retry comes back to it.
        actions = send(.failed(requestFor(ids[1]), outcome: .backendError, detail: "out of memory"), to: &core, from: "a")
        #expect(base.dispatched(actions, to: "a") == [ids[1]])
        actions = send(.failed(requestFor(ids[1]), outcome: .backendError, detail: "out of memory"), to: &core, from: "a")
        let batch = try #require(completed(actions).first)
        #expect(batch.results.keys.sorted() == [ids[0]])
        #expect(batch.failedOutcomes[ids[1]] == .backendError)
        #expect(batch.masked.isEmpty)
        #expect(actions.contains(.persist(.gaveUp(requestID: ids[1], reason: "backend_error: out of memory"))))
        #expect(core.outcomes.failed[.backendError]?["math"] == 2)
        #expect(core.outcomes.dropped == [.backendError: 1])
        #expect(actions.contains(.jobComplete))
    }

    @Test func aMaskedFailureIsCommittedWithItsTreeAndKeptOutOfTheResults() {
        var failures = FailureSettings()
        failures.policies[.toolInfraError] = .mask
        var core = makeCore(perBatch: 1, failures: failures)
        _ = core.start(now: 0)
        let id = base.dispatched(base.register(&core, "a", slots: 1))[0]
        let actions = send(infraFailure(id), to: &core, from: "a")
        // Stored (so a resumed coordinator keeps it masked), acknowledged only once durable.
        let committed = actions.compactMap { if case .commitResult(let result, _) = $0 { result } else { nil } }
        #expect(committed.map(\.rolloutOutcome) == [.toolInfraError])
        #expect(acked(actions).isEmpty)
        let batch = completed(actions).first
        #expect(batch?.results.isEmpty == true)
        #expect(batch?.masked[id] != nil)
        #expect(batch?.failedOutcomes[id] == .toolInfraError)
        #expect(core.outcomes.masked == [.toolInfraError: 1])
    }

    @Test func aModelsBadCallIsScoredAndCounted() {
        var core = makeCore(perBatch: 1)
        _ = core.start(now: 0)
        let id = base.dispatched(base.register(&core, "a", slots: 1))[0]
        var result = CoordinatorCoreTests.answered(id)
        var call = WireToolCall()
        call.name = "calculator"
        call.error = "invalid_arguments: expression missing"
        result.tree.nodes[1].toolCalls = [call]
        let batch = completed(send(result, to: &core, from: "a")).first
        #expect(batch?.results[id] != nil)
        #expect(core.outcomes.modelErrors == ["math": 1])
        #expect(core.outcomes.failedTotal == 0)
    }

    @Test func aRolloutPastTheTimeoutIsCancelledAndRetriedElsewhere() {
        var core = makeCore(perBatch: 1, timeout: 10)
        _ = core.start(now: 0)
        let id = base.dispatched(base.register(&core, "a", slots: 1))[0]
        _ = base.register(&core, "b", slots: 1, now: 0)
        _ = core.tick(now: 9)
        #expect(core.outcomes.failedTotal == 0)
        let actions = core.tick(now: 10.5)
        let cancelled = actions.compactMap { action -> String? in
            guard case .send(let to, .cancel(let cancel)) = action, to == Array("a".utf8) else { return nil }
            return cancel.requestID
        }
        #expect(cancelled == [id])
        #expect(base.dispatched(actions, to: "b") == [id])
        #expect(core.outcomes.failed[.timeout]?["math"] == 1)
        #expect(core.registry["a"]?.assigned.isEmpty == true)
    }

    @Test func aRetryWaitsForAnotherWorkerThatIsBusy() {
        var core = makeCore(perBatch: 2)
        _ = core.start(now: 0)
        let toA = base.dispatched(base.register(&core, "a", slots: 1))
        let toB = base.dispatched(base.register(&core, "b", slots: 1))
        #expect(toA.count == 1 && toB.count == 1)
        // a's attempt fails while b is busy: a has a free slot but the retry waits for b.
        var actions = send(.failed(requestFor(toA[0]), outcome: .backendError, detail: "x"), to: &core, from: "a")
        #expect(base.dispatched(actions).isEmpty)
        #expect(core.queueDepth == 1)
        actions = send(CoordinatorCoreTests.answered(toB[0]), to: &core, from: "b")
        #expect(base.dispatched(actions, to: "b") == [toA[0]])
    }

    func requestFor(_ id: String) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = id
        return request
    }
}
