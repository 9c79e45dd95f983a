import ArborProtocol
import Foundation
import Testing
@testable import Coordinator

/// The trainer stream with batches in memory and a manual clock: pulls that wait, leases,
/// acknowledgements, the staleness bound and the end of the job (issue 8).
struct TrainerStreamTests {
    let trainerA: Frame = Array("trainer-a".utf8)
    let trainerB: Frame = Array("trainer-b".utf8)

    /// A training row as the batch writer writes it, sampled at `version`.
    static func row(task: String, version: UInt64) -> String {
        TrainingRow(
            taskID: task, taskType: "math", leaf: 3, policyVersion: version, ids: [1, 2, 3], mask: [0, 1, 1],
            logprobs: [0, -0.5, -0.25], advantages: [0, 1, 1], weight: 1,
            reward: RewardBreakdown(
                total: 1, outcome: 1, toolCalls: 0, toolFactor: 1, advantage: 1, stepRewards: [1], forkAdvantages: [0],
                format: 1)
        ).jsonLine()
    }

    /// A stream over `batches` (index → rows), bound `maxStaleness`, leases of 10 s.
    func makeStream(_ batches: [Int: [String]], maxStaleness: UInt64 = 0, required: Bool = false) -> StreamWithRows {
        StreamWithRows(
            stream: TrainerStream(settings: .init(maxStaleness: maxStaleness, leaseTimeout: 10, required: required)),
            batches: batches)
    }

    func pull(_ minVersion: UInt64 = 0) -> Arbor_V1_BatchPull {
        var pull = Arbor_V1_BatchPull()
        pull.minPolicyVersion = minVersion
        return pull
    }

    func ack(_ index: Int) -> Arbor_V1_BatchAck {
        var ack = Arbor_V1_BatchAck()
        ack.batchIndex = UInt64(index)
        return ack
    }

    /// The training batches among `actions`, by the identity they go to.
    func served(_ actions: [TrainerStream.Action]) -> [(to: Frame, batch: Arbor_V1_TrainingBatch)] {
        actions.compactMap {
            guard case .reply(let identity, .trainingBatch(let batch)) = $0 else { return nil }
            return (identity, batch)
        }
    }

    @Test func aPullWaitsForTheNextWrittenBatchAndAcksArePersisted() {
        var stream = makeStream([1: [Self.row(task: "t1", version: 0)], 2: [Self.row(task: "t2", version: 0)]])
        #expect(stream.taken == nil, "no trainer attached yet")
        #expect(served(stream.pull(pull(), from: trainerA, now: 0)).isEmpty)
        #expect(stream.pullsWaiting == 1)
        #expect(stream.taken == 0, "a pull attaches the trainer")

        let first = served(stream.batchWritten(1, now: 1))
        #expect(first.count == 1)
        #expect(first.first?.to == trainerA)
        #expect(first.first?.batch.batchIndex == 1)
        #expect(first.first?.batch.rowsJsonl.contains(#""task_id": "t1""#) == true)
        #expect(stream.taken == 1 && stream.leased == 1)

        let acked = stream.ack(ack(1), from: trainerA, now: 2)
        #expect(acked == [.persistAck(batch: 1, echoTo: trainerA)], "the echo waits for the record")
        #expect(stream.leased == 0 && stream.acked == [1])

        // A repeated ack is recorded (idempotently) and echoed again.
        #expect(stream.ack(ack(1), from: trainerA, now: 2) == [.persistAck(batch: 1, echoTo: trainerA)])
        #expect(stream.acked == [1])
        // An ack of a batch that was never served is an error, not a crash.
        let bogus = stream.ack(ack(7), from: trainerA, now: 2)
        #expect(bogus.contains { if case .reply(_, .error(let error)) = $0 { error.code == .badRequest } else { false } })
    }

    @Test func rowsBehindTheStalenessBoundAreDroppedAndCountedOnce() {
        let rows = [
            Self.row(task: "old", version: 0), Self.row(task: "mid", version: 1), Self.row(task: "new", version: 2),
        ]
        var stream = makeStream([1: rows, 2: rows], maxStaleness: 1)
        _ = stream.batchWritten(2, now: 0)
        stream.policyPublished(2)
        let batch = served(stream.pull(pull(), from: trainerA, now: 0)).first?.batch
        #expect(batch?.staleRowsDropped == 1)
        #expect(batch?.policyVersion == 2)
        #expect(batch?.rowsJsonl.contains(#""task_id": "old""#) == false)
        #expect(batch?.rowsJsonl.split(separator: "\n").count == 2)
        #expect(stream.counters.staleRowsDropped == 1)

        // The lease runs out and batch 1 goes again: its dropped row is not counted twice.
        _ = stream.tick(now: 11)
        #expect(stream.counters.leasesExpired == 1)
        let again = served(stream.pull(pull(), from: trainerB, now: 12)).first?.batch
        #expect(again?.batchIndex == 1, "an expired lease goes before newer batches")
        #expect(stream.counters.staleRowsDropped == 1)

        // The trainer's own bound: nothing older than version 2. Every row of batch 2 but one goes.
        let strict = served(stream.pull(pull(2), from: trainerA, now: 13)).first?.batch
        #expect(strict?.batchIndex == 2)
        #expect(strict?.staleRowsDropped == 2)
        #expect(stream.counters.staleRowsDropped == 3)
    }

    @Test func aBatchWhoseRowsAreAllStaleIsServedEmpty() {
        var stream = makeStream([1: [Self.row(task: "a", version: 0), Self.row(task: "b", version: 0)]])
        _ = stream.batchWritten(1, now: 0)
        stream.policyPublished(1)
        let batch = served(stream.pull(pull(), from: trainerA, now: 0)).first?.batch
        #expect(batch?.batchIndex == 1)
        #expect(batch?.rowsJsonl == "")
        #expect(batch?.staleRowsDropped == 2)
    }

    @Test func aRepeatedPullReplacesTheWaitingOne() {
        var stream = makeStream([1: [Self.row(task: "t", version: 0)]])
        _ = stream.pull(pull(), from: trainerA, now: 0)
        _ = stream.pull(pull(), from: trainerA, now: 1)
        #expect(stream.pullsWaiting == 1)
        #expect(served(stream.batchWritten(1, now: 2)).count == 1)
        #expect(stream.pullsWaiting == 0)
    }

    @Test func theEndOfTheJobIsSaidOnlyOnceEveryBatchIsAcknowledged() {
        var stream = makeStream([1: [Self.row(task: "t", version: 0)]])
        _ = stream.batchWritten(1, now: 0)
        _ = stream.pull(pull(), from: trainerA, now: 0)
        _ = stream.endOfJob(now: 1)
        // Batch 1 is leased, not acknowledged: a second trainer's pull waits (the lease may expire).
        #expect(served(stream.pull(pull(), from: trainerB, now: 1)).isEmpty)
        #expect(!stream.isDrained(total: 1))
        let afterAck = served(stream.ack(ack(1), from: trainerA, now: 2))
        #expect(afterAck.count == 1)
        #expect(afterAck.first?.to == trainerB)
        #expect(afterAck.first?.batch.endOfJob == true)
        #expect(afterAck.first?.batch.rowsJsonl == "")
        #expect(stream.isDrained(total: 1))
        #expect(stream.endsSent == 1)
    }

    @Test func anUnreadableBatchIsAnErrorForThePullerAndStaysOnOffer() {
        var stream = makeStream([:])
        _ = stream.batchWritten(1, now: 0)
        let actions = stream.pull(pull(), from: trainerA, now: 0)
        #expect(actions.contains { if case .reply(_, .error(let error)) = $0 { error.code == .internal } else { false } })
        #expect(stream.leased == 0)
        #expect(stream.pullsWaiting == 0)
    }

    @Test func aResumedStreamDoesNotServeAcknowledgedBatchesAgain() {
        var stream = StreamWithRows(
            stream: TrainerStream(
                settings: .init(maxStaleness: 1, leaseTimeout: 10, required: false), policyVersion: 3, acked: [1, 2]),
            batches: [3: [Self.row(task: "t", version: 3)]])
        #expect(stream.isAttached, "a run a trainer already acknowledged batches of keeps its backpressure")
        _ = stream.batchWritten(3, now: 0)
        #expect(served(stream.pull(pull(), from: trainerA, now: 0)).first?.batch.batchIndex == 3)
    }

    @Test func theRowVersionIsReadFromTheWrittenLine() {
        let line = Self.row(task: #"tricky "policy_version":9"#, version: 42)
        #expect(TrainingRow.policyVersion(inJSONLine: Substring(line)) == 42)
        #expect(TrainingRow.policyVersion(inJSONLine: #"{"task_id":"x"}"#) == nil)
    }

    @Test func aBatchThatCouldNotBeWrittenIsLeftOutAndDoesNotHoldTheEnd() {
        var stream = makeStream([2: [Self.row(task: "t", version: 0)]])
        _ = stream.batchFailed(1, now: 0)
        _ = stream.batchWritten(2, now: 0)
        #expect(served(stream.pull(pull(), from: trainerA, now: 0)).first?.batch.batchIndex == 2)
        _ = stream.ack(ack(2), from: trainerA, now: 1)
        _ = stream.endOfJob(now: 1)
        #expect(stream.isDrained(total: 2))
        #expect(served(stream.pull(pull(), from: trainerA, now: 2)).first?.batch.endOfJob == true)
    }
}
