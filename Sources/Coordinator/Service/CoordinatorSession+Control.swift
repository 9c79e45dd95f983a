import ArborProtocol

extension CoordinatorSession {
    /// Answers one control-socket message: status queries at once, trainer pulls when a batch
    /// is ready, acks, and policies published (answered once durable; their worker messages go
    /// out at once).
    mutating func fromControl(_ frames: [Frame], now: Double) -> [Action] {
        guard let identity = frames.first else { return [] }
        guard frames.count == 2 else {
            status.controlBadFrames += 1
            return [.reply(to: identity, Wire.error(.badFrame, "expected one frame per message, got \(frames.count - 1)"))]
        }
        let envelope: Envelope
        do {
            envelope = try Wire.decode(frames[1])
        } catch let error as ProtocolError {
            status.controlBadFrames += 1
            return [.reply(to: identity, Wire.errorBody(for: error))]
        } catch {
            return [.reply(to: identity, Wire.error(.internal, "\(error)"))]
        }
        // An eval opened earlier in this pass (a publish) holds pulls from now on.
        var actions = carryOut(trainer.holdForEval(core.isEvaluating, now: now))
        switch envelope.body {
        case .statusQuery:
            var answer = Arbor_V1_StatusReply()
            answer.statusJson = status.snapshot(
                core: core, trainer: trainer, now: now, phase: core.isFinished ? "complete" : "running"
            ).json()
            actions.append(.reply(to: identity, .statusReply(answer)))
        case .batchPull(let pull):
            actions += carryOut(trainer.pull(pull, from: identity, now: now))
        case .batchAck(let ack):
            actions += carryOut(trainer.ack(ack, from: identity, now: now))
        case .policyUpdate(let update):
            let (answer, published) = core.publishPolicy(update, now: now)
            if case .policyPublished = answer {
                // Answered once the policy is durable: a restarted coordinator still serves it.
                trainer.policyPublished(update.version)
                durable.afterCommit(ofPolicy: update.version, reply: answer, to: identity)
            } else {
                actions.append(.reply(to: identity, answer))
            }
            actions += translate(published, now: now)
        default:
            actions.append(
                .reply(
                    to: identity,
                    Wire.error(.unexpectedMessage, "\(envelope.body?.name ?? "empty") is not a control message")))
        }
        return actions
    }
}
