import ArborProtocol
import Testing
@testable import Coordinator

/// A batch's rows are read off the transport thread: the stream asks for them and serves the
/// first waiting pull when they come back (the transport thread never reads the disk).
extension TrainerStreamTests {
    func bare(required: Bool = false) -> TrainerStream {
        TrainerStream(settings: .init(maxStaleness: 0, leaseTimeout: 10, required: required))
    }

    func rows(_ tasks: String...) -> Result<[Substring], CoordinatorError> {
        .success(tasks.map { Substring(Self.row(task: $0, version: 0)) })
    }

    @Test func aPullAsksForTheRowsAndIsServedWhenTheyArrive() {
        var stream = bare()
        _ = stream.batchWritten(2, now: 0)
        #expect(stream.pull(pull(), from: trainerA, now: 1).contains(.readRows(batch: 1)))
        #expect(stream.reading == 1 && stream.leased == 0, "nothing is leased before the rows are there")
        // A second trainer's pull waits behind the read: one read at a time keeps the order.
        #expect(!stream.pull(pull(), from: trainerB, now: 1).contains { if case .readRows = $0 { true } else { false } })

        let first = stream.rowsRead(1, rows("t1"), now: 2)
        #expect(served(first).map(\.batch.batchIndex) == [1] && served(first).first?.to == trainerA)
        #expect(first.contains(.readRows(batch: 2)), "the next waiting pull asks for the next batch")
        let second = stream.rowsRead(2, rows("t2"), now: 2)
        #expect(served(second).map(\.batch.batchIndex) == [2] && served(second).first?.to == trainerB)
        #expect(stream.leased == 2 && stream.reading == nil)
    }

    @Test func rowsThatArriveAfterTheBatchWasAcknowledgedAreNotServed() {
        var stream = bare()
        _ = stream.batchWritten(2, now: 0)
        _ = stream.pull(pull(), from: trainerA, now: 0)
        // The trainer acknowledges batch 1 from an earlier lease while its rows are read again.
        let afterAck = stream.ack(ack(1), from: trainerA, now: 1)
        #expect(afterAck.contains(.persistAck(batch: 1, echoTo: trainerA)))
        let late = stream.rowsRead(1, rows("t1"), now: 2)
        #expect(served(late).isEmpty)
        #expect(late.contains(.readRows(batch: 2)), "the waiting pull gets the next batch instead")
    }

    @Test func rowsThatArriveDuringAnEvalWaitForIt() {
        var stream = bare()
        _ = stream.batchWritten(1, now: 0)
        _ = stream.pull(pull(), from: trainerA, now: 0)
        _ = stream.holdForEval(true, now: 1)
        #expect(stream.rowsRead(1, rows("t1"), now: 2).isEmpty)
        #expect(stream.pullsWaiting == 1)
        #expect(stream.holdForEval(false, now: 3) == [.readRows(batch: 1)], "read again once the eval is written")
    }

    @Test func aFailedReadAnswersThePullWithAnErrorAndLeavesTheBatchForTheNext() {
        var stream = bare()
        _ = stream.batchWritten(1, now: 0)
        _ = stream.pull(pull(), from: trainerA, now: 0)
        let failed = stream.rowsRead(1, .failure(CoordinatorError(.io, "cannot read batch-000001.jsonl")), now: 1)
        #expect(failed.contains { if case .reply(trainerA, .error(let error)) = $0 { error.code == .internal } else { false } })
        #expect(stream.pullsWaiting == 0 && stream.leased == 0 && stream.reading == nil)
        #expect(stream.pull(pull(), from: trainerA, now: 2).contains(.readRows(batch: 1)))
        // Rows for a read nobody asked for (a stale answer) change nothing.
        #expect(stream.rowsRead(7, rows("x"), now: 3).isEmpty)
    }
}
