import ArborProtocol

/// Typed outcomes of rollouts: results are judged against the tree contract on arrival, and a
/// failed attempt is retried on another worker, dropped or masked as the job's `failures:`
/// policy says. Rollouts running past `rolloutTimeout` are cancelled and end as `timeout`.
extension CoordinatorCore {
    /// The outcome of an arriving training result and why: the worker's report, refined by its
    /// tool calls (`classifiedOutcome`), and `contractViolation` when a scorable tree does not
    /// answer its request or breaks the tree contract (so it never reaches `LearningSignal`).
    func judge(_ result: RolloutResult, state: RequestState) -> (RolloutOutcome, String) {
        let outcome = result.classifiedOutcome
        guard outcome.isScored else {
            let detail = result.classifiedDetail
            return (outcome, detail.isEmpty ? "the worker reported \(outcome.rawValue)" : detail)
        }
        let task = state.request.task
        if result.taskID != task.taskID {
            return (
                .contractViolation,
                "result of request \(result.requestID) answers task '\(result.taskID)', not '\(task.taskID)'"
            )
        }
        do {
            _ = try TreeIndex(TreeConversion.record(from: result, taskType: task.taskType))
        } catch let error as CoordinatorError {
            return (.contractViolation, error.message)
        } catch {
            return (.contractViolation, "\(error)")
        }
        return (outcome, "")
    }

    /// Whether the tree of `result` passes the contract (what a mask needs to build rows).
    func hasValidTree(_ result: RolloutResult?, taskType: String) -> Bool {
        guard let result, !result.tree.nodes.isEmpty else { return false }
        return (try? TreeIndex(TreeConversion.record(from: result, taskType: taskType))) != nil
    }

    /// An attempt of request `id` ended as the failure `outcome` on `worker` (nil when the
    /// coordinator decided it: a timeout). Counts it and applies the policy: retry elsewhere,
    /// drop, or mask (the tree is committed, then acknowledged). `result` is the failed result,
    /// when the worker sent one; it is acknowledged unless masked.
    mutating func failed(
        _ id: String, as outcome: RolloutOutcome, detail: String, result: RolloutResult?, on worker: WorkerRecord?,
        now: Double
    ) -> [Action] {
        guard var state = requests[id] else { return [] }
        var actions: [Action] = []
        let workerName = worker?.id ?? state.workerID ?? "?"
        if let worker, let result, state.backupWorkerID == worker.id {
            // The straggler copy failed; the original keeps running and decides the request.
            state.backupWorkerID = nil
            requests[id] = state
            outcomes.failed(outcome, taskType: state.request.task.taskType, decision: .retry)
            return [ack(result, to: worker), .log(.warning, "request \(id)'s copy on \(worker.id) ended as \(outcome.rawValue): \(detail)")]
                + dispatch(now: now)
        }
        if let worker, let result, let backup = state.backupWorkerID {
            // Its straggler copy still runs: that copy carries on as the request.
            state.workerID = backup
            state.backupWorkerID = nil
            requests[id] = state
            outcomes.failed(outcome, taskType: state.request.task.taskType, decision: .retry)
            return [ack(result, to: worker), .log(.warning, "request \(id) ended as \(outcome.rawValue) on \(worker.id); its copy on \(backup) carries on")]
                + dispatch(now: now)
        }
        let taskType = state.request.task.taskType
        let decision = OutcomePolicy(settings: settings.failures).decide(
            outcome, retriesUsed: state.retries, hasTree: hasValidTree(result, taskType: taskType))
        outcomes.failed(outcome, taskType: taskType, decision: decision)
        counters.failedAttempts += 1
        if let worker, let result, decision != .mask { actions.append(ack(result, to: worker)) }
        let reason = "\(outcome.rawValue): \(detail)"
        switch decision {
        case .retry:
            state.retries += 1
            state.failedOn.insert(workerName)
            requests[id] = state
            actions += requeue([id], reason: "ended as \(reason) on \(workerName); retry \(state.retries) of \(settings.failures.maxRetries)")
        case .drop, .score:
            actions.append(.log(.warning, "request \(id) dropped after ending as \(reason) on \(workerName)"))
            actions += giveUp(id, reason: reason, now: now)
        case .mask:
            actions.append(.log(.warning, "request \(id) masked (rows kept with weight 0) after ending as \(reason) on \(workerName)"))
            actions += mask(id, state: state, result: result, reason: reason, outcome: outcome, ackTo: worker, now: now)
        }
        return actions + dispatch(now: now)
    }

    /// Keeps the failed tree of request `id` for weight-0 rows: committed like a result (with
    /// its outcome, so a resumed coordinator keeps it masked), then acknowledged.
    private mutating func mask(
        _ id: String, state: RequestState, result: RolloutResult?, reason: String, outcome: RolloutOutcome,
        ackTo worker: WorkerRecord?, now: Double
    ) -> [Action] {
        guard var result, let worker else { return giveUp(id, reason: reason, now: now) }
        requests.removeValue(forKey: id)
        queue.removeAll { $0 == id }
        finished.insert(id)
        result.outcome = outcome.wire
        result.outcomeDetail = reason
        openBatches[state.batchIndex]?.masked[id] = result
        openBatches[state.batchIndex]?.failures[id] = reason
        openBatches[state.batchIndex]?.failedOutcomes[id] = outcome
        return [.commitResult(result, ackTo: worker.identity)] + completeBatches()
    }

    /// Cancels every request that has run longer than `rolloutTimeout` on its worker and hands
    /// it to the failure policy as a `timeout`.
    mutating func expireRollouts(now: Double) -> [Action] {
        guard settings.rolloutTimeout > 0 else { return [] }
        let expired = requests.filter { _, state in
            state.workerID != nil && now - (state.dispatchedAt ?? now) > settings.rolloutTimeout
        }.keys.sorted()
        var actions: [Action] = []
        for id in expired {
            guard let state = requests[id] else { continue }
            let detail = "no result within workers.rollout_timeout_s = \(settings.rolloutTimeout) s"
            for holder in [state.workerID, state.backupWorkerID].compactMap({ $0 }) {
                if let cancel = cancelCopy(of: id, on: holder, reason: "timed out") { actions.append(cancel) }
            }
            requests[id]?.backupWorkerID = nil
            if state.evalVersion != nil {
                actions += giveUp(id, reason: "timeout: \(detail)", now: now)
                continue
            }
            actions += failed(id, as: .timeout, detail: detail, result: nil, on: nil, now: now)
        }
        return actions
    }

    /// Whether a live worker outside `excluded` could take work (now or once a slot frees up).
    func hasOtherWorker(than excluded: Set<String>) -> Bool {
        guard !excluded.isEmpty else { return true }
        return registry.workers.values.contains {
            !excluded.contains($0.id) && !$0.draining && $0.policyVersion == policyVersion
        }
    }

    /// The outcome a stored give-up reason names (`"timeout: …"`); `backend_error` for reasons
    /// from before outcomes were typed (a worker's error message).
    static func outcome(ofStoredReason reason: String) -> RolloutOutcome {
        let prefix = reason.prefix { $0 != ":" }
        return RolloutOutcome(rawValue: String(prefix)).flatMap { $0.isScored ? nil : $0 } ?? .backendError
    }

    /// An eval attempt failed (the eval measures the policy, so the job's failure policy does not
    /// apply): tried again up to `maxAttempts`, then given up like a worker error.
    mutating func evalAttemptFailed(_ result: RolloutResult, from worker: WorkerRecord, now: Double) -> [Action] {
        let reason = "\(result.classifiedOutcome.rawValue): \(result.classifiedDetail)"
        return [ack(result, to: worker), .log(.warning, "eval request \(result.requestID) ended as \(reason) on \(worker.id)")]
            + retryEval(result.requestID, reason: reason, failedOn: worker.id, now: now)
    }

    /// Counts a failed attempt of eval request `id` and sends it out again, or gives it up once
    /// it has had `maxAttempts`.
    mutating func retryEval(_ id: String, reason: String, failedOn workerID: String, now: Double) -> [Action] {
        guard let state = requests[id] else { return [] }
        counters.failedAttempts += 1
        let next = Int(state.request.attempt) >= settings.maxAttempts
            ? giveUp(id, reason: reason, now: now) : requeue([id], reason: "failed on \(workerID)")
        return next + dispatch(now: now)
    }

    private func ack(_ result: RolloutResult, to worker: WorkerRecord) -> Action {
        var ack = Arbor_V1_ResultAck()
        ack.requestID = result.requestID
        return .send(to: worker.identity, .resultAck(ack))
    }
}
