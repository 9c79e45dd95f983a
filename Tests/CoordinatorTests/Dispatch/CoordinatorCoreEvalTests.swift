import ArborProtocol
import Testing
@testable import Coordinator

/// The eval in the dispatch state machine (issue 13): a round at version 0 at the start and one
/// after every publish, dispatched only to workers that serve the version, trees of another
/// version rolled out again, nothing of it in training batches, and the job held until the last
/// version's eval is written.
extension CoordinatorCoreTests {
    /// A core as `makeCore` makes, with an eval of `evalTasks` math tasks.
    func makeEvalCore(batches: Int = 2, perBatch: Int = 2, evalTasks: Int = 2) throws -> CoordinatorCore {
        let ids = (1...evalTasks).map { "e\($0)" }
        let set = try EvalSuiteTests.set("math", ids)
        let suite = try EvalSuite(config: EvalSuiteTests.config(sets: [set.settings]), evalSets: [set], trainingSets: [])
        let plain = makeCore(batches: batches, perBatch: perBatch, inFlight: 1)
        var opened = 0
        return CoordinatorCore(
            settings: plain.settings, now: 0, eval: suite,
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

    /// A one-trajectory eval tree stamped with `version`, answered with `outcome`.
    func evalResult(_ id: String, version: UInt64, outcome: Int32 = 1) -> Envelope {
        var result = RolloutResult()
        result.requestID = id
        var root = WireTreeNode()
        root.parent = -1
        var leaf = WireTreeNode()
        leaf.id = 1
        leaf.parent = 0
        leaf.isLeaf = true
        leaf.outcome = outcome
        leaf.tokenIds = [1, 2, 3]
        leaf.policyVersion = version
        result.tree.nodes = [root, leaf]
        result.tree.policyVersions = [version]
        return envelope(.rolloutResult(result))
    }

    func completedRounds(_ actions: [CoordinatorCore.Action]) -> [EvalRound] {
        actions.compactMap { if case .evalComplete(let round) = $0 { round } else { nil } }
    }

    func publish(_ core: inout CoordinatorCore, version: UInt64, now: Double) -> [CoordinatorCore.Action] {
        var update = Arbor_V1_PolicyUpdate()
        update.version = version
        update.weightsPath = "/w/v\(version).gguf"
        return core.publishPolicy(update, now: now).actions
    }

    func loaded(_ core: inout CoordinatorCore, _ worker: String, version: UInt64, now: Double) -> [CoordinatorCore.Action] {
        var message = Arbor_V1_PolicyLoaded()
        message.version = version
        return core.received(envelope(.policyLoaded(message)), from: Array(worker.utf8), now: now)
    }

    @Test func versionZeroIsEvaluatedFirstAndEvalTreesNeverReachABatch() throws {
        var core = try makeEvalCore(batches: 1, perBatch: 2)
        _ = core.start(now: 0)
        let sent = dispatched(register(&core, "a", slots: 8))
        #expect(Array(sent.prefix(2)) == ["eval-v0-000", "eval-v0-001"], "eval goes ahead of training: \(sent)")
        #expect(core.isEvaluating)

        var actions = core.received(evalResult("eval-v0-000", version: 0), from: Array("a".utf8), now: 1)
        actions += core.received(evalResult("eval-v0-001", version: 0, outcome: -1), from: Array("a".utf8), now: 2)
        // Acknowledged at once, never stored: eval results are not training data.
        let acked = actions.compactMap { if case .send(_, .resultAck(let ack)) = $0 { ack.requestID } else { nil } }
        #expect(acked == ["eval-v0-000", "eval-v0-001"])
        #expect(!actions.contains { if case .commitResult = $0 { true } else { false } })
        let round = try #require(completedRounds(actions).first)
        #expect(round.version == 0 && round.orderedResults.count == 2 && round.openedAt == 0 && round.closedAt == 2)
        #expect(!core.isEvaluating)
        #expect(core.counters.results == 0, "eval results are not rollout results of the job")

        actions = core.received(result("b000001-00"), from: Array("a".utf8), now: 3)
        actions += core.received(result("b000001-01"), from: Array("a".utf8), now: 3)
        let batches = actions.compactMap { if case .batchComplete(let batch) = $0 { batch } else { nil } }
        #expect(batches.map(\.requestIDs) == [["b000001-00", "b000001-01"]])
        #expect(core.isJobComplete)
        #expect(!actions.contains(.jobComplete), "the job waits for version 0's eval to be written")
        #expect(core.evalWritten(version: 0, now: 4) == [.jobComplete])
        #expect(core.isFinished)
    }

    @Test func everyPublishIsEvaluatedOnWorkersServingIt() throws {
        var core = try makeEvalCore(batches: 3, perBatch: 1)
        _ = core.start(now: 0)
        _ = register(&core, "a", slots: 1)
        _ = register(&core, "b", slots: 1)
        for id in ["eval-v0-000", "eval-v0-001"] {
            _ = core.received(evalResult(id, version: 0), from: Array((id.hasSuffix("0") ? "a" : "b").utf8), now: 1)
        }
        _ = core.evalWritten(version: 0, now: 1)
        let published = publish(&core, version: 1, now: 2)
        #expect(core.isEvaluating && core.evaluation?.round?.version == 1)
        #expect(dispatched(published).isEmpty, "no worker serves version 1 yet")
        // b loads version 1 and gets the eval; a finishes its training request on version 0 and
        // gets nothing until it serves version 1 too.
        let onB = dispatched(loaded(&core, "b", version: 1, now: 3), to: "b")
        #expect(onB == ["eval-v1-000"], "\(onB)")
        #expect(dispatched(core.received(result("b000001-00"), from: Array("a".utf8), now: 3.1)).isEmpty)
        #expect(dispatched(core.tick(now: 3.2), to: "a").isEmpty, "a still serves version 0")
        let onA = dispatched(loaded(&core, "a", version: 1, now: 3.5), to: "a")
        #expect(onA == ["eval-v1-001"])
        var actions = core.received(evalResult("eval-v1-000", version: 1), from: Array("b".utf8), now: 4)
        actions += core.received(evalResult("eval-v1-001", version: 1), from: Array("a".utf8), now: 4)
        #expect(completedRounds(actions).map(\.version) == [1])
    }

    @Test func anEvalTreeOfAnotherVersionIsRolledOutAgain() throws {
        var core = try makeEvalCore(batches: 1, perBatch: 1, evalTasks: 1)
        _ = core.start(now: 0)
        #expect(dispatched(register(&core, "a", slots: 1)) == ["eval-v0-000"])
        // The worker switched weights under the request: the tree says version 7.
        let stale = core.received(evalResult("eval-v0-000", version: 7), from: Array("a".utf8), now: 1)
        #expect(completedRounds(stale).isEmpty)
        #expect(dispatched(stale) == ["eval-v0-000"], "the same request goes out again, first in line")
        #expect(core.evaluation?.redone == 1)
        let good = core.received(evalResult("eval-v0-000", version: 0), from: Array("a".utf8), now: 2)
        let round = try #require(completedRounds(good).first)
        #expect(round.results["eval-v0-000"]?.tree.policyVersions == [0])
    }

    @Test func aNewerVersionSupersedesAnUnfinishedEval() throws {
        var core = try makeEvalCore(batches: 1, perBatch: 1, evalTasks: 2)
        _ = core.start(now: 0)
        #expect(dispatched(register(&core, "a", slots: 1)) == ["eval-v0-000"])
        let actions = publish(&core, version: 1, now: 1)
        let cancelled = actions.compactMap { if case .send(_, .cancel(let cancel)) = $0 { cancel.requestID } else { nil } }
        #expect(cancelled == ["eval-v0-000"])
        #expect(core.evaluation?.superseded == [0])
        #expect(core.evaluation?.round?.version == 1)
        // A late answer of the superseded round is acknowledged and dropped.
        let late = core.received(evalResult("eval-v0-000", version: 0), from: Array("a".utf8), now: 2)
        #expect(completedRounds(late).isEmpty)
        #expect(late.contains { if case .send(_, .resultAck) = $0 { true } else { false } })
    }

    @Test func withATrainerTheJobWaitsForItsLastVersionsEval() throws {
        var core = try makeEvalCore(batches: 1, perBatch: 1, evalTasks: 1)
        _ = core.trainerProgress(taken: 0, now: 0)
        _ = core.start(now: 0)
        _ = register(&core, "a", slots: 2)
        _ = core.received(evalResult("eval-v0-000", version: 0), from: Array("a".utf8), now: 1)
        _ = core.received(result("b000001-00"), from: Array("a".utf8), now: 1)
        #expect(core.evalWritten(version: 0, now: 2).isEmpty, "the trainer may still publish")
        _ = publish(&core, version: 1, now: 3)
        #expect(core.trainerEnded(now: 3).isEmpty, "version 1 is not evaluated yet")
        _ = loaded(&core, "a", version: 1, now: 4)
        let done = core.received(evalResult("eval-v1-000", version: 1), from: Array("a".utf8), now: 5)
        #expect(completedRounds(done).map(\.version) == [1])
        #expect(!done.contains(.jobComplete))
        #expect(core.evalWritten(version: 1, now: 6) == [.jobComplete])
    }
}
