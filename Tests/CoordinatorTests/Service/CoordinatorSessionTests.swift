import ArborProtocol
import Foundation
import Testing
@testable import Coordinator

/// The coordinator service's state machine with a manual clock and no sockets: durable replies,
/// written batches, the trainer's rows read off the transport thread, status publication and the
/// stop decision by `StopReason`.
struct CoordinatorSessionTests {
    let workerA: Frame = Array("a".utf8)
    let trainer: Frame = Array("trainer".utf8)

    /// A session over a job of `batches` batches of `perBatch` requests (b<batch>-<slot>), a
    /// drain grace of 10 s and no trainer required.
    func makeSession(batches: Int = 1, perBatch: Int = 2, trainerRequired: Bool = false) -> CoordinatorSession {
        var opened = 0
        let core = CoordinatorCore(
            settings: .init(
                coordinatorID: "c", batchCount: batches, maxBatchesInFlight: 1, heartbeatInterval: 1,
                heartbeatLiveness: 3, jobYAML: "name: t\n"),
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
        let stream = TrainerStream(settings: .init(maxStaleness: 0, leaseTimeout: 10, required: trainerRequired))
        return CoordinatorSession(
            settings: .init(batchCount: batches, drainGrace: 10), core: core, trainer: stream,
            status: StatusBoard(config: JobConfig(), startedAt: Date(), runDirectory: "/run"))
    }

    func frames(from identity: Frame, _ body: Body) -> [Frame] { [identity, Wire.encode(body)] }

    func register(_ session: inout CoordinatorSession, slots: UInt32, now: Double) -> [CoordinatorSession.Action] {
        var message = RegisterMessage()
        message.workerID = "a"
        message.slots = slots
        return session.handle(.fromWorker(frames(from: workerA, .register(message))), now: now)
    }

    /// A result whose tree meets the contract (an empty tree would be a contract violation).
    func result(_ id: String) -> Body {
        .rolloutResult(CoordinatorCoreTests.answered(id))
    }

    func dispatched(_ actions: [CoordinatorSession.Action]) -> [String] {
        actions.compactMap {
            guard case .sendToWorker(_, .rolloutRequest(let request)) = $0 else { return nil }
            return request.requestID
        }
    }

    func drains(_ actions: [CoordinatorSession.Action]) -> [String] {
        actions.compactMap { if case .sendToWorker(_, .drain(let drain)) = $0 { drain.reason } else { nil } }
    }

    func finishes(_ actions: [CoordinatorSession.Action]) -> Int { actions.filter { $0 == .finish }.count }

    /// Runs batch 1 to completion on worker a; returns the batch the session asked to write.
    func completeFirstBatch(_ session: inout CoordinatorSession, now: Double) -> [CoordinatorSession.Action] {
        _ = session.start(written: 0, now: 0)
        var actions: [CoordinatorSession.Action] = []
        for id in dispatched(register(&session, slots: 4, now: now)) {
            actions += session.handle(.fromWorker(frames(from: workerA, result(id))), now: now)
        }
        return actions
    }

    @Test func aResultIsAcknowledgedOnlyOnceItsCommitComesBack() {
        var session = makeSession()
        _ = session.start(written: 0, now: 0)
        let ids = dispatched(register(&session, slots: 4, now: 0))
        #expect(ids.count == 2)
        let received = session.handle(.fromWorker(frames(from: workerA, result(ids[0]))), now: 1)
        #expect(received.contains { if case .persist(.result(let result)) = $0 { result.requestID == ids[0] } else { false } })
        #expect(!received.contains { if case .sendToWorker(_, .resultAck) = $0 { true } else { false } })

        let acked = session.handle(.committed(.init(resultIDs: [ids[0]])), now: 2)
        #expect(acked.count == 1)
        #expect(acked.contains { if case .sendToWorker(workerA, .resultAck(let ack)) = $0 { ack.requestID == ids[0] } else { false } })
        #expect(session.handle(.committed(.init(resultIDs: [ids[0]])), now: 3).isEmpty, "acknowledged once")
    }

    @Test func aCompleteJobDrainsWorkersAndFinishesOnceTheLastBatchIsWrittenAndWorkersLeave() {
        var session = makeSession()
        let actions = completeFirstBatch(&session, now: 1)
        #expect(actions.contains { if case .writeBatch(let batch) = $0 { batch.index == 1 } else { false } })
        #expect(drains(actions) == ["job complete"])
        #expect(session.stopping?.reason == .jobComplete)
        // Workers left, but the batch is not written yet: no finish, however long it takes.
        _ = session.handle(.fromWorker(frames(from: workerA, .deregister(Arbor_V1_Deregister()))), now: 2)
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 2)) == 0)
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 60)) == 0)

        _ = session.handle(.batchFailed(index: 1, message: "disk full"), now: 61)
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 61)) == 1)
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 62)) == 0, "finish is said once")
        #expect(session.finalStatus(now: 62).job.phase == "complete")
    }

    @Test func aShutdownStopsAfterTheGraceWhenWorkersStay() {
        var session = makeSession(batches: 3)
        _ = session.start(written: 0, now: 0)
        _ = register(&session, slots: 1, now: 0)
        let stop = session.handle(.shutdown(reason: "SIGTERM"), now: 1)
        #expect(drains(stop) == ["SIGTERM"])
        #expect(session.stopping?.reason == .shutdown("SIGTERM"))
        // The worker still heartbeats (it may be finishing its request): wait for it, up to the grace.
        for time in stride(from: 1.5, through: 11, by: 0.5) {
            _ = session.handle(.fromWorker(frames(from: workerA, .heartbeat(HeartbeatMessage()))), now: time)
            #expect(finishes(session.handle(.tick(curveRefusals: nil), now: time)) == 0, "at \(time) s")
        }
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 11.5)) == 1)
        #expect(session.finalStatus(now: 12).job.phase == "stopped")
    }

    @Test func aShutdownFinishesAtOnceWhenNoWorkerIsLeft() {
        var session = makeSession(batches: 3)
        _ = session.start(written: 0, now: 0)
        _ = session.handle(.shutdown(reason: "SIGTERM"), now: 1)
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 1)) == 1)
    }

    @Test func aTrainerThatFailsStopsTheJobWithItsOwnReason() {
        var session = makeSession(batches: 3, trainerRequired: true)
        _ = session.start(written: 0, now: 0)
        let stop = session.handle(.trainerExited(status: 1, description: "exited with status 1"), now: 1)
        #expect(session.stopping?.reason == .trainerFailed("the trainer exited with status 1"))
        #expect(stop.contains { if case .log(.error, let line) = $0 { line.contains("stopping the job") } else { false } })
        #expect(finishes(session.handle(.tick(curveRefusals: nil), now: 12)) == 1, "no workers to wait for")
    }

    @Test func aTrainerExitDuringAShutdownKeepsTheShutdownsReason() {
        var session = makeSession(batches: 3, trainerRequired: true)
        _ = session.start(written: 0, now: 0)
        _ = session.handle(.shutdown(reason: "SIGINT"), now: 1)
        let exit = session.handle(.trainerExited(status: 130, description: "was killed by SIGINT"), now: 2)
        #expect(drains(exit).isEmpty)
        #expect(session.stopping?.reason == .shutdown("SIGINT"))
    }

    @Test func aPullIsServedFromRowsReadOffTheTransportThreadAndItsAckEchoedAfterCommit() throws {
        var session = makeSession(batches: 2)
        _ = completeFirstBatch(&session, now: 1)
        let summary = try writtenSummary(index: 1)
        _ = session.handle(.batchWritten(summary), now: 2)
        #expect(session.status.batchesWritten == 1)

        let pull = session.handle(.fromControl(frames(from: trainer, .batchPull(Arbor_V1_BatchPull()))), now: 3)
        #expect(pull.contains(.readRows(batch: 1)))
        #expect(!pull.contains { if case .reply = $0 { true } else { false } }, "nothing is served before the rows are read")
        let served = session.handle(.rowsRead(batch: 1, .success([])), now: 4)
        #expect(served.contains { if case .reply(trainer, .trainingBatch(let batch)) = $0 { batch.batchIndex == 1 } else { false } })

        var ack = Arbor_V1_BatchAck()
        ack.batchIndex = 1
        let acked = session.handle(.fromControl(frames(from: trainer, .batchAck(ack))), now: 5)
        #expect(acked.contains(.persist(.batchAcked(index: 1))))
        #expect(!acked.contains { if case .reply(_, .batchAck) = $0 { true } else { false } }, "echoed once durable")
        let echo = session.handle(.committed(.init(ackedBatches: [1])), now: 6)
        #expect(echo.contains { if case .reply(trainer, .batchAck(let echoed)) = $0 { echoed.batchIndex == 1 } else { false } })
    }

    @Test func badControlMessagesAreAnsweredAndCounted() {
        var session = makeSession()
        _ = session.start(written: 0, now: 0)
        let extra = session.handle(.fromControl([trainer, [1], [2]]), now: 1)
        #expect(extra.contains { if case .reply(trainer, .error(let error)) = $0 { error.code == .badFrame } else { false } })
        let garbage = session.handle(.fromControl([trainer, [0xFF, 0x00, 0x13]]), now: 1)
        #expect(garbage.count == 1)
        #expect(session.status.controlBadFrames == 2)
        let query = session.handle(.fromControl(frames(from: trainer, .statusQuery(Arbor_V1_StatusQuery()))), now: 2)
        #expect(query.contains { if case .reply(trainer, .statusReply(let reply)) = $0 { !reply.statusJson.isEmpty } else { false } })
        let worker = session.handle(.fromControl(frames(from: trainer, .heartbeat(HeartbeatMessage()))), now: 2)
        #expect(worker.contains { if case .reply(_, .error(let error)) = $0 { error.code == .unexpectedMessage } else { false } })
    }

    @Test func theStatusIsPublishedOncePerIntervalWithThePassTime() {
        var session = makeSession()
        _ = session.start(written: 0, now: 0)
        let first = session.handle(.tick(curveRefusals: 3), now: 1)
        let published = first.compactMap { if case .publish(let status) = $0 { status } else { nil } }
        #expect(published.count == 1)
        #expect(session.status.curveRefusals == 3)
        #expect(!session.handle(.tick(curveRefusals: 3), now: 1.1).contains { if case .publish = $0 { true } else { false } })
        #expect(session.handle(.tick(curveRefusals: 3), now: 1.3).contains { if case .publish = $0 { true } else { false } })
    }

    /// The summary the batch writer reports for an empty batch `index`.
    func writtenSummary(index: Int) throws -> BatchSummary {
        let signal = try LearningSignal.score(batch: [], config: JobConfig(), aepo: AEPOState())
        return BatchSummary(batch: .init(index: index, requestIDs: []), results: [], signal: signal)
    }
}
