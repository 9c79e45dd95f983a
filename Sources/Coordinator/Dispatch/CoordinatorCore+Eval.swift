import ArborProtocol

/// What the eval changes in the core: a round of eval requests for the current policy version
/// at the start and after every publish, queued ahead of training work and dispatched, like all
/// work, only to workers that report serving that version. Their results are acknowledged at
/// once and never stored or scored: they become an `EvalReport`, not training rows.
extension CoordinatorCore {
    /// Whether the eval keeps the job from finishing: a round runs or waits to be written, the
    /// current version is not evaluated yet, or an attached trainer may still publish a version.
    var isEvalHoldingJob: Bool {
        guard let schedule = evaluation else { return false }
        return schedule.isPending(version: policyVersion) || (trainerTaken != nil && !trainerEnded)
    }

    /// Whether the current version's eval is running (the trainer's pulls wait meanwhile, so
    /// it cannot publish the next version before this one is measured).
    public var isEvaluating: Bool { evaluation?.round != nil }

    /// Versions whose eval report a previous coordinator process already wrote (resume).
    public mutating func restoreEval(written versions: [UInt64]) {
        for version in versions { evaluation?.markWritten(version) }
    }

    /// The report of `version` is written (or could not be; the service logs why): the version
    /// is done, and the job may finish.
    public mutating func evalWritten(version: UInt64, now: Double) -> [Action] {
        evaluation?.markWritten(version)
        return finishJobIfDone() + dispatch(now: now)
    }

    /// Opens the eval of the current version when it has none, superseding the round of an older
    /// version. Its requests go to the front of the queue.
    mutating func openEvalIfNeeded(now: Double) -> [Action] {
        guard var schedule = evaluation, schedule.needsRound(for: policyVersion) else { return [] }
        guard !jobCompleteSent else {
            return [.log(.warning, "policy version \(policyVersion) is not evaluated: the job is already complete")]
        }
        var actions: [Action] = []
        if let old = schedule.supersede() {
            actions += withdraw(old)
            actions.append(
                .log(
                    .warning,
                    "eval of policy version \(old.version) superseded by version \(policyVersion) after "
                        + "\(old.results.count) of \(old.requestIDs.count) result(s); it is not reported"
                ))
        }
        let round = schedule.open(version: policyVersion, now: now)
        evaluation = schedule
        for request in round.reversed() {
            requests[request.requestID] = RequestState(request: request, batchIndex: 0, evalVersion: policyVersion)
            finished.remove(request.requestID)
            queue.insert(request.requestID, at: 0)
        }
        actions.append(.log(.info, "eval of policy version \(policyVersion): \(round.count) task(s) queued"))
        return actions
    }

    /// Takes the unanswered requests of a superseded round off the queue and off the workers.
    private mutating func withdraw(_ round: EvalRound) -> [Action] {
        var actions: [Action] = []
        for id in round.requestIDs {
            guard let state = requests.removeValue(forKey: id) else { continue }
            queue.removeAll { $0 == id }
            finished.insert(id)
            actions += [state.workerID, state.backupWorkerID].compactMap { $0 }.compactMap {
                cancelCopy(of: id, on: $0, reason: "eval of policy version \(round.version) superseded")
            }
        }
        return actions
    }

    /// An eval result (its request already taken out of `requests`): acknowledged at once, kept
    /// when its tree is stamped with the round's version, rolled out again when it is not.
    mutating func acceptEval(_ result: RolloutResult, state: RequestState, from worker: WorkerRecord, now: Double)
        -> [Action]
    {
        let id = result.requestID
        var ack = Arbor_V1_ResultAck()
        ack.requestID = id
        var actions: [Action] = [.send(to: worker.identity, .resultAck(ack))]
        actions += cancelOtherCopies(of: id, state: state, answeredBy: worker.id)
        var worker = worker
        worker.completed += 1
        registry[worker.id] = worker
        guard let version = state.evalVersion, var schedule = evaluation else { return actions + dispatch(now: now) }
        let outcome = schedule.record(result, version: version, now: now)
        evaluation = schedule
        switch outcome {
        case .kept:
            queue.removeAll { $0 == id }
            finished.insert(id)
        case .complete(let round):
            queue.removeAll { $0 == id }
            finished.insert(id)
            actions.append(.evalComplete(round))
        case .wrongVersion(let stamped):
            // Sampled with other weights than the round measures (the worker switched in
            // between): the same request goes out again, first in line.
            var again = state
            again.workerID = nil
            again.backupWorkerID = nil
            again.dispatchedAt = nil
            requests[id] = again
            queue.removeAll { $0 == id }
            queue.insert(id, at: 0)
            actions.append(
                .log(
                    .info,
                    "eval request \(id) was sampled with policy version \(stamped), not \(version); rolling it out again"))
        case .unknown:
            finished.insert(id)
        }
        return actions + finishJobIfDone() + dispatch(now: now)
    }

    /// An eval request given up after its last attempt (already taken out of `requests`): the
    /// round goes on without it, and its report counts it as failed.
    mutating func evalGaveUp(_ id: String, version: UInt64, reason: String, now: Double) -> [Action] {
        guard var schedule = evaluation else { return [] }
        let outcome = schedule.fail(id, reason: reason, version: version, now: now)
        evaluation = schedule
        var actions: [Action] = [.log(.error, "eval request \(id) given up: \(reason)")]
        if case .complete(let round) = outcome { actions.append(.evalComplete(round)) }
        return actions
    }
}
