import ArborProtocol
@testable import Coordinator

/// A trainer stream whose row reads are answered at once from batches in memory, as the
/// coordinator's loop answers them from the batch writer's queue. What the stream does while a
/// read is outstanding is tested on `TrainerStream` itself.
@dynamicMemberLookup
struct StreamWithRows {
    var stream: TrainerStream
    /// index → rows; a missing index fails to read.
    let batches: [Int: [String]]

    subscript<Value>(dynamicMember path: KeyPath<TrainerStream, Value>) -> Value { stream[keyPath: path] }

    /// `actions` with every `readRows` replaced by what the stream does with the rows.
    private mutating func answeringReads(_ actions: [TrainerStream.Action], now: Double) -> [TrainerStream.Action] {
        var out: [TrainerStream.Action] = []
        for action in actions {
            guard case .readRows(let index) = action else {
                out.append(action)
                continue
            }
            let rows: Result<[Substring], CoordinatorError> =
                batches[index].map { .success($0.map { Substring($0) }) }
                ?? .failure(CoordinatorError(.io, "no batch \(index)"))
            out += answeringReads(stream.rowsRead(index, rows, now: now), now: now)
        }
        return out
    }

    mutating func pull(_ pull: Arbor_V1_BatchPull, from identity: Frame, now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.pull(pull, from: identity, now: now), now: now)
    }

    mutating func ack(_ ack: Arbor_V1_BatchAck, from identity: Frame, now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.ack(ack, from: identity, now: now), now: now)
    }

    mutating func batchWritten(_ index: Int, now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.batchWritten(index, now: now), now: now)
    }

    mutating func batchFailed(_ index: Int, now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.batchFailed(index, now: now), now: now)
    }

    mutating func endOfJob(now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.endOfJob(now: now), now: now)
    }

    mutating func holdForEval(_ held: Bool, now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.holdForEval(held, now: now), now: now)
    }

    mutating func tick(now: Double) -> [TrainerStream.Action] {
        answeringReads(stream.tick(now: now), now: now)
    }

    mutating func policyPublished(_ version: UInt64) {
        stream.policyPublished(version)
    }

    func isDrained(total: Int) -> Bool { stream.isDrained(total: total) }
}
