import ArborProtocol
import Testing
@testable import Coordinator

/// While the current policy version's eval runs the trainer's pulls wait, so it cannot publish
/// the next version before this one is measured (issue 13).
extension TrainerStreamTests {
    @Test func pullsWaitWhileTheEvalRunsAndAreAnsweredAfterIt() {
        var stream = makeStream([1: [Self.row(task: "t1", version: 0)], 2: [Self.row(task: "t2", version: 0)]])
        _ = stream.batchWritten(2, now: 0)
        #expect(stream.holdForEval(true, now: 0).isEmpty)
        #expect(served(stream.pull(pull(), from: trainerA, now: 1)).isEmpty, "held: the eval runs")
        #expect(stream.pullsWaiting == 1)
        let released = served(stream.holdForEval(false, now: 2))
        #expect(released.map(\.batch.batchIndex) == [1] && released.first?.to == trainerA)
        #expect(stream.holdForEval(false, now: 2).isEmpty, "releasing twice serves nothing twice")

        // The end of the job waits for the eval too.
        _ = stream.ack(ack(1), from: trainerA, now: 3)
        _ = stream.holdForEval(true, now: 3)
        _ = stream.endOfJob(now: 3)
        #expect(served(stream.pull(pull(), from: trainerA, now: 4)).isEmpty)
        let next = served(stream.holdForEval(false, now: 5))
        #expect(next.map(\.batch.batchIndex) == [2])
    }
}
