import ArborProtocol

/// Replies that promise durability, held until the store has committed what they promise: a
/// worker's result acknowledgement (the worker then forgets the result), a trainer's batch
/// acknowledgement echo (the batch is never served again) and a trainer's `PolicyPublished`
/// (the policy survives a restart). Owned by `CoordinatorSession`.
struct DurableReplies {
    /// Routing ids of workers whose results wait for their commit, by request id.
    private var resultAcks: [String: Frame] = [:]
    /// Trainers waiting for the echo of their ack, by batch.
    private var batchAckEchoes: [Int: [Frame]] = [:]
    /// Trainers waiting for `PolicyPublished`, by version.
    private var policyReplies: [UInt64: (identity: Frame, reply: Body)] = [:]

    mutating func afterCommit(ofResult requestID: String, ackTo worker: Frame) {
        resultAcks[requestID] = worker
    }

    mutating func afterCommit(ofAck batch: Int, echoTo trainer: Frame) {
        batchAckEchoes[batch, default: []].append(trainer)
    }

    mutating func afterCommit(ofPolicy version: UInt64, reply: Body, to trainer: Frame) {
        policyReplies[version] = (trainer, reply)
    }

    /// The replies that `committed` makes true, to send now.
    mutating func deliver(_ committed: StoreWriter.Committed) -> [CoordinatorSession.Action] {
        var replies: [CoordinatorSession.Action] = []
        for id in committed.resultIDs {
            guard let identity = resultAcks.removeValue(forKey: id) else { continue }
            var ack = Arbor_V1_ResultAck()
            ack.requestID = id
            replies.append(.sendToWorker(identity, .resultAck(ack)))
        }
        for batch in committed.ackedBatches {
            var echo = Arbor_V1_BatchAck()
            echo.batchIndex = UInt64(batch)
            for identity in batchAckEchoes.removeValue(forKey: batch) ?? [] {
                replies.append(.reply(to: identity, .batchAck(echo)))
            }
        }
        for version in committed.policyVersions {
            guard let waiting = policyReplies.removeValue(forKey: version) else { continue }
            replies.append(.reply(to: waiting.identity, waiting.reply))
        }
        return replies
    }
}
