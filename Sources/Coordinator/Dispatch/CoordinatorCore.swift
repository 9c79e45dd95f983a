import ArborProtocol

/// The coordinator's job logic as a pure state machine: opens batches from the sampler,
/// dispatches their requests to workers within their slots, tracks heartbeats, requeues the
/// work of lost workers, keeps the first result of every request and drops duplicates, and says
/// when a batch is complete.
///
/// No sockets, no clock, no files: `CoordinatorService` feeds it decoded messages and ticks with
/// the monotonic time in seconds and carries out the returned actions. Not thread-safe; owned by
/// the service's transport thread.
public struct CoordinatorCore {
    /// What the core asks its service to do.
    public enum Action: Equatable {
        /// Send a message to the worker behind a routing id.
        case send(to: Frame, Body)
        /// Record a change in the run store (asynchronously; order preserved).
        case persist(RunStore.Change)
        /// Make a result durable, then acknowledge it to the worker behind the routing id.
        case commitResult(RolloutResult, ackTo: Frame)
        /// Every request of a batch has its result (or failed for good): score and write it.
        case batchComplete(OpenBatch)
        /// A line for the log.
        case log(LogLevel, String)
        /// Every eval request of a policy version has its result (or failed for good): report
        /// and write it (`CoordinatorCore+Eval.swift`).
        case evalComplete(EvalRound)
        /// All batches are complete (and, with `eval:`, the last version is evaluated); tell
        /// workers to drain and stop.
        case jobComplete
    }

    public enum LogLevel: Sendable, Equatable { case info, warning, error }

    public struct Settings: Sendable {
        public var coordinatorID: String
        public var batchCount: Int
        public var maxBatchesInFlight: Int
        public var heartbeatInterval: Double
        public var heartbeatLiveness: Int
        /// An eval request that failed this many times is given up (recorded as failed) so one
        /// poison task cannot stall the job. Training requests follow the job's `failures:` policy.
        public var maxAttempts: Int = 5
        /// The job as run, sent to every worker in its RegisterAck.
        public var jobYAML: String
        /// Seconds a request may run before a copy goes to another worker (first result wins);
        /// 0 = never.
        public var stragglerTimeout: Double = 0
        /// Consecutive undecodable frames after which a peer is ignored (its connection no longer
        /// served).
        public var badFrameLimit = 20
        /// What becomes of failed rollouts, per reason (job.yaml `failures:`).
        public var failures = FailureSettings()
        /// Seconds a request may run on a worker before it is cancelled and ends as `timeout`;
        /// 0 = never (job.yaml `workers.rollout_timeout_s`).
        public var rolloutTimeout: Double = 0

        public init(
            coordinatorID: String, batchCount: Int, maxBatchesInFlight: Int, heartbeatInterval: Double,
            heartbeatLiveness: Int, jobYAML: String, stragglerTimeout: Double = 0,
            failures: FailureSettings = FailureSettings(), rolloutTimeout: Double = 0
        ) {
            self.stragglerTimeout = stragglerTimeout
            self.failures = failures
            self.rolloutTimeout = rolloutTimeout
            self.coordinatorID = coordinatorID
            self.batchCount = batchCount
            self.maxBatchesInFlight = maxBatchesInFlight
            self.heartbeatInterval = heartbeatInterval
            self.heartbeatLiveness = heartbeatLiveness
            self.jobYAML = jobYAML
        }
    }

    /// A batch being worked on.
    public struct OpenBatch: Sendable, Equatable {
        /// 1-based, as in `batch-000001.jsonl`.
        public var index: Int
        /// Request ids in sampling order.
        public var requestIDs: [String]
        /// Task type of every request, by request id.
        public var taskTypes: [String: String] = [:]
        public var results: [String: RolloutResult] = [:]
        /// Requests failed for good (given up after `maxAttempts` errors, dropped or masked by
        /// the failure policy), with the last error.
        public var failures: [String: String] = [:]
        /// The outcome each failed request ended with.
        public var failedOutcomes: [String: RolloutOutcome] = [:]
        /// Failed requests whose tree is kept with weight 0 (`mask`); each is in `failures` too.
        public var masked: [String: RolloutResult] = [:]

        public var isComplete: Bool { results.count + failures.count == requestIDs.count }
    }

    /// A request and where it stands.
    struct RequestState {
        var request: RolloutRequest
        var batchIndex: Int
        /// The worker it is assigned to, nil while queued.
        var workerID: String?
        var dispatchedAt: Double?
        /// A second worker running a copy because the first was too slow (straggler).
        var backupWorkerID: String?
        /// The policy version an eval request evaluates; nil for a training request.
        var evalVersion: UInt64?
        /// Retries spent on failed outcomes (the failure policy's bound).
        var retries = 0
        /// Workers an attempt failed on: a retry goes elsewhere when another worker is free.
        var failedOn: Set<String> = []
    }

    public let settings: Settings
    public internal(set) var registry: WorkerRegistry
    public internal(set) var counters = Counters()
    /// How rollouts ended: failures by reason and task type, retries, drops, masks.
    public internal(set) var outcomes = OutcomeTally()
    public internal(set) var openBatches: [Int: OpenBatch] = [:]
    public private(set) var batchesOpened = 0
    public private(set) var batchesCompleted = 0
    /// The policy workers should serve (published by the trainer); only workers that have
    /// loaded it get new requests.
    public internal(set) var policyVersion: UInt64 = 0
    /// Where that policy's weights are (empty for the job's own model).
    public internal(set) var policyWeightsPath = ""
    /// Batches an attached trainer holds or has acknowledged (nil: no trainer is attached, and
    /// batches are not held back for one). `CoordinatorCore+Trainer.swift`.
    public internal(set) var trainerTaken: Int?
    /// The eval of every policy version, when the job has `eval:` (`CoordinatorCore+Eval.swift`).
    public internal(set) var evaluation: EvalSchedule?
    /// Whether the attached trainer has been told the job ended (it publishes no more versions).
    public internal(set) var trainerEnded = false
    /// Requests not yet answered, by id.
    var requests: [String: RequestState] = [:]
    /// Queued request ids, oldest batch first; requeued work and eval requests go to the front.
    var queue: [String] = []
    /// Request ids answered or given up, so late duplicates are recognised.
    var finished: Set<String> = []
    private var lastHeartbeatSent: Double = -.infinity
    /// Consecutive bad frames per routing id, and the peers ignored for sending too many.
    private var badFrameStreaks: [Frame: Int] = [:]
    private var ignoredPeers: Set<Frame> = []
    private let nextBatch: () -> [RolloutRequest]
    var jobCompleteSent = false
    /// Why every worker was asked to drain (job complete, shutdown); a worker that registers
    /// afterwards is asked at once, or it would wait for work that never comes.
    private var drainReason: String?
    /// Monotonic times of the first dispatch and the latest accepted result.
    public private(set) var firstDispatchAt: Double?
    public private(set) var lastResultAt: Double?
    /// Dispatch-to-result seconds of the most recent results (at most `latencyWindow`).
    public private(set) var recentLatencies: [Double] = []
    let latencyWindow = 4096

    /// Counters reported in status and metrics.
    public struct Counters: Sendable, Equatable {
        public var dispatched = 0
        public var results = 0
        public var duplicates = 0
        public var requeued = 0
        public var failedAttempts = 0
        public var givenUp = 0
        public var workersLost = 0
        public var badFrames = 0
        public var unexpectedMessages = 0
        public var stragglersRedispatched = 0
        public var peersIgnored = 0
    }

    /// `nextBatch` returns the next batch's requests (ids, tasks, specs filled in); it is called
    /// at most `batchCount` times. `eval` is the job's eval suite (nil: no eval).
    public init(
        settings: Settings, now: Double, eval: EvalSuite? = nil, nextBatch: @escaping () -> [RolloutRequest]
    ) {
        self.settings = settings
        self.registry = WorkerRegistry(deadAfter: settings.heartbeatInterval * Double(settings.heartbeatLiveness))
        self.nextBatch = nextBatch
        self.evaluation = eval.map(EvalSchedule.init(suite:))
    }

    /// Every batch is complete (the eval of the last version may still run).
    public var isJobComplete: Bool { batchesCompleted >= settings.batchCount }
    /// The job is done: every batch complete and, with `eval:`, the last version's eval written;
    /// workers have been asked to drain.
    public var isFinished: Bool { jobCompleteSent }
    public var queueDepth: Int { queue.count }
    public var inFlightCount: Int { requests.count - queue.count }

    /// Queued requests per task type.
    public var queueDepthByType: [String: Int] {
        var depth: [String: Int] = [:]
        for id in queue { depth[requests[id]?.request.task.taskType ?? "?", default: 0] += 1 }
        return depth
    }

    // MARK: Events

    /// Opens the eval of the current version and batches up to the in-flight limit, and
    /// dispatches; call once at start.
    public mutating func start(now: Double) -> [Action] {
        openEvalIfNeeded(now: now) + completeBatches() + dispatch(now: now)
    }

    /// Continues a job from its run store: written batches stay done, open batches come back
    /// with their stored results, and their other requests are queued again. Call before `start`.
    public mutating func restore(_ resumed: ResumedJob) {
        policyVersion = resumed.policyVersion
        policyWeightsPath = resumed.policyWeightsPath
        batchesOpened = resumed.plannedBatches
        batchesCompleted = resumed.writtenBatches
        for (index, batch) in resumed.openBatches {
            var open = OpenBatch(index: index, requestIDs: batch.map(\.requestID))
            for var request in batch {
                let id = request.requestID
                open.taskTypes[id] = request.task.taskType
                if let result = resumed.results[id] {
                    if result.rolloutOutcome.isScored {
                        open.results[id] = result
                    } else {
                        // A masked failure was stored with its tree.
                        open.masked[id] = result
                        open.failures[id] = result.outcomeDetail
                        open.failedOutcomes[id] = result.rolloutOutcome
                    }
                    finished.insert(id)
                } else if let reason = resumed.failures[id] {
                    open.failures[id] = reason
                    open.failedOutcomes[id] = Self.outcome(ofStoredReason: reason)
                    finished.insert(id)
                } else {
                    request.attempt = UInt32((resumed.attempts[id] ?? 0) + 1)
                    requests[id] = RequestState(request: request, batchIndex: index)
                    queue.append(id)
                }
            }
            openBatches[index] = open
        }
    }

    /// A decoded message from the worker behind `identity`.
    public mutating func received(_ envelope: Envelope, from identity: Frame, now: Double) -> [Action] {
        guard let body = envelope.body, !ignoredPeers.contains(identity) else { return [] }
        badFrameStreaks[identity] = nil
        if case .register(let message) = body {
            return register(message, identity: identity, now: now)
        }
        guard var worker = registry.worker(identity: identity) else {
            // A worker we do not know (we restarted, or it was declared dead): make it register
            // again; it re-sends any results we have not acknowledged.
            return [.send(to: identity, Wire.error(.notRegistered, "unknown worker: send register first"))]
        }
        worker.lastHeard = now
        registry[worker.id] = worker
        switch body {
        case .heartbeat(let beat):
            worker.tokensPerSecond = beat.tokensPerSecond
            worker.policyVersion = beat.policyVersion
            registry[worker.id] = worker
            return []
        case .rolloutResult(let result):
            return accept(result, from: worker, now: now)
        case .error(let error):
            return workerError(error, from: worker, now: now)
        case .drain:
            worker.draining = true
            registry[worker.id] = worker
            return [.log(.info, "worker \(worker.id) is draining with \(worker.assigned.count) request(s) in flight")]
        case .deregister(let goodbye):
            return lose(worker, reason: "deregistered (\(goodbye.reason))", now: now)
        case .policyLoaded(let loaded):
            registry[worker.id] = worker
            guard loaded.error.isEmpty else {
                return [
                    .log(
                        .error,
                        "worker \(worker.id) could not load policy version \(loaded.version): \(loaded.error); it gets no work until it serves version \(policyVersion)"
                    )
                ]
            }
            worker.policyVersion = loaded.version
            registry[worker.id] = worker
            return [.log(.info, "worker \(worker.id) serves policy version \(loaded.version)")] + dispatch(now: now)
        default:
            counters.unexpectedMessages += 1
            return [.send(to: identity, Wire.error(.unexpectedMessage, "\(body.name) is not a worker message"))]
        }
    }

    /// A frame from `identity` that did not decode.
    public mutating func badFrame(_ error: ProtocolError, from identity: Frame, now: Double = 0) -> [Action] {
        counters.badFrames += 1
        guard !ignoredPeers.contains(identity) else { return [] }
        let streak = (badFrameStreaks[identity] ?? 0) + 1
        badFrameStreaks[identity] = streak
        guard streak >= settings.badFrameLimit else {
            return [.send(to: identity, Wire.errorBody(for: error)), .log(.warning, "bad frame: \(error.message)")]
        }
        // A peer that only sends garbage gets no more answers; if it was a worker, its work goes
        // to the others.
        ignoredPeers.insert(identity)
        badFrameStreaks[identity] = nil
        counters.peersIgnored += 1
        var actions: [Action] = [
            .send(to: identity, Wire.error(.refused, "\(streak) bad frames in a row: this connection is no longer served")),
            .log(.warning, "peer \(String(decoding: identity.prefix(32), as: UTF8.self)) sent \(streak) bad frames in a row; ignoring it"),
        ]
        if let worker = registry.worker(identity: identity) {
            actions += lose(worker, reason: "ignored after \(streak) bad frames", now: now)
        }
        return actions
    }

    /// Time passed: reap silent workers, send heartbeats, keep dispatching.
    public mutating func tick(now: Double) -> [Action] {
        var actions: [Action] = []
        for worker in registry.reapDead(now: now) {
            actions += release(worker.assigned, from: worker.id, reason: "worker \(worker.id) lost (no heartbeat)")
            counters.workersLost += 1
            actions.append(.log(.warning, "worker \(worker.id) missed its heartbeats; \(worker.assigned.count) request(s) requeued"))
        }
        actions += expireRollouts(now: now)
        actions += redispatchStragglers(now: now)
        if now - lastHeartbeatSent >= settings.heartbeatInterval {
            lastHeartbeatSent = now
            for worker in registry.workers.values.sorted(by: { $0.id < $1.id }) {
                actions.append(.send(to: worker.identity, .heartbeat(HeartbeatMessage())))
            }
        }
        return actions + dispatch(now: now)
    }

    // MARK: Workers

    private mutating func register(_ message: RegisterMessage, identity: Frame, now: Double) -> [Action] {
        var actions: [Action] = []
        if let previous = registry.worker(identity: identity), previous.id != message.workerID {
            // The connection now speaks for another worker id: the old one is gone, and so is its
            // claim on the requests it held.
            _ = registry.remove(previous.id)
            actions += release(previous.assigned, from: previous.id, reason: "worker \(previous.id) replaced by \(message.workerID)")
        }
        let before = registry[message.workerID]
        var worker = registry.register(message, identity: identity, now: now)
        // Requests we think it holds but it no longer knows about were lost with its old
        // connection's state: requeue them. Those it still holds stay assigned.
        let stillHeld = Set(message.inFlightRequestIds)
        let lost = (before?.assigned ?? []).subtracting(stillHeld)
        worker.assigned = (before?.assigned ?? []).intersection(stillHeld)
        // After a coordinator restart, requests the worker still works on are queued here: let it
        // keep them instead of running them twice.
        for id in stillHeld.sorted() where requests[id]?.workerID == nil && requests[id] != nil {
            queue.removeAll { $0 == id }
            requests[id]?.workerID = worker.id
            requests[id]?.dispatchedAt = now
            worker.assigned.insert(id)
        }
        registry[worker.id] = worker
        var ack = RegisterAckMessage()
        ack.coordinatorID = settings.coordinatorID
        ack.heartbeatIntervalMs = UInt32(settings.heartbeatInterval * 1000)
        ack.heartbeatLiveness = UInt32(settings.heartbeatLiveness)
        ack.policyVersion = policyVersion
        ack.policyWeightsPath = policyWeightsPath
        ack.jobYaml = settings.jobYAML
        actions += [
            .send(to: identity, .registerAck(ack)),
            .log(.info, "worker \(worker.id) registered from \(message.host) with \(worker.slots) slot(s), backend \(message.backend)"),
        ]
        actions += release(lost, from: worker.id, reason: "worker \(worker.id) re-registered without them")
        if let drainReason { actions.append(drain(worker, reason: drainReason)) }
        return actions + dispatch(now: now)
    }

    private mutating func lose(_ worker: WorkerRecord, reason: String, now: Double) -> [Action] {
        _ = registry.remove(worker.id)
        var actions: [Action] = [.log(.info, "worker \(worker.id) \(reason)")]
        actions += release(worker.assigned, from: worker.id, reason: "worker \(worker.id) \(reason)")
        return actions + dispatch(now: now)
    }

    private mutating func workerError(_ error: ErrorMessage, from worker: WorkerRecord, now: Double) -> [Action] {
        let id = error.requestID
        if !id.isEmpty, requests[id]?.backupWorkerID == worker.id {
            // The straggler copy failed or was refused; the original keeps running.
            requests[id]?.backupWorkerID = nil
            var worker = worker
            worker.assigned.remove(id)
            registry[worker.id] = worker
            return dispatch(now: now)
        }
        guard !id.isEmpty, let state = requests[id], state.workerID == worker.id else {
            return [.log(.warning, "worker \(worker.id) reported \(error.code): \(error.message)")]
        }
        var worker = worker
        worker.assigned.remove(id)
        registry[worker.id] = worker
        if let backup = state.backupWorkerID {
            // Its straggler copy still runs: that copy carries on as the request.
            requests[id]?.workerID = backup
            requests[id]?.backupWorkerID = nil
            return [.log(.info, "request \(id) failed on \(worker.id); its copy on \(backup) carries on")] + dispatch(now: now)
        }
        if error.code == .refused {
            // Not a failure of the task: the worker was busy, draining or switching policy.
            return requeue([id], reason: "refused by \(worker.id): \(error.message)", countsAsAttempt: false)
                + dispatch(now: now)
        }
        guard state.evalVersion != nil else {
            // A training request's error message (how a peer written before outcomes were typed
            // reports a failed rollout) is a `backend_error`, under the job's `failures:` policy.
            return [.log(.warning, "request \(id) failed on \(worker.id): \(error.message)")]
                + failed(id, as: .backendError, detail: error.message, result: nil, on: worker, now: now)
        }
        return [.log(.warning, "eval request \(id) failed on \(worker.id): \(error.message)")]
            + retryEval(id, reason: error.message, failedOn: worker.id, now: now)
    }

    // MARK: Results

    private mutating func accept(_ result: RolloutResult, from worker: WorkerRecord, now: Double) -> [Action] {
        var worker = worker
        let id = result.requestID
        var actions: [Action] = []
        worker.assigned.remove(id)
        registry[worker.id] = worker
        guard let state = requests.removeValue(forKey: id) else {
            // A duplicate (or a result of a request this coordinator no longer tracks): the first
            // copy is or will be durable, so acknowledge at once and the worker stops re-sending.
            if finished.contains(id) { counters.duplicates += 1 }
            var ack = Arbor_V1_ResultAck()
            ack.requestID = id
            return [.send(to: worker.identity, .resultAck(ack))] + dispatch(now: now)
        }
        if state.evalVersion != nil {
            guard result.classifiedOutcome.isScored else {
                requests[id] = state
                return evalAttemptFailed(result, from: worker, now: now)
            }
            return acceptEval(result, state: state, from: worker, now: now)
        }
        let (outcome, detail) = judge(result, state: state)
        if !outcome.isScored {
            requests[id] = state
            return failed(id, as: outcome, detail: detail, result: result, on: worker, now: now)
        }
        outcomes.scored(outcome, taskType: state.request.task.taskType)
        // Committed before acknowledged: the worker keeps the result until the store has it.
        actions.append(.commitResult(result, ackTo: worker.identity))
        queue.removeAll { $0 == id }
        finished.insert(id)
        counters.results += 1
        lastResultAt = now
        if let sent = state.dispatchedAt {
            if recentLatencies.count == latencyWindow { recentLatencies.removeFirst(latencyWindow / 2) }
            recentLatencies.append(now - sent)
        }
        worker.completed += 1
        registry[worker.id] = worker
        actions += cancelOtherCopies(of: id, state: state, answeredBy: worker.id)
        openBatches[state.batchIndex]?.results[id] = result
        actions += completeBatches()
        return actions + dispatch(now: now)
    }

    /// First result wins: if the request also runs elsewhere (re-dispatched, or a straggler
    /// copy), cancel the other copy.
    mutating func cancelOtherCopies(of id: String, state: RequestState, answeredBy answerer: String) -> [Action] {
        [state.workerID, state.backupWorkerID].compactMap { $0 }.filter { $0 != answerer }.compactMap {
            cancelCopy(of: id, on: $0, reason: "answered by \(answerer)")
        }
    }

    /// Takes request `id` off worker `holderID`'s assignments and tells that worker to cancel it;
    /// nil when the worker is gone.
    mutating func cancelCopy(of id: String, on holderID: String, reason: String) -> Action? {
        guard var holder = registry[holderID] else { return nil }
        holder.assigned.remove(id)
        registry[holderID] = holder
        var cancel = Arbor_V1_Cancel()
        cancel.requestID = id
        cancel.reason = reason
        return .send(to: holder.identity, .cancel(cancel))
    }

    mutating func giveUp(_ id: String, reason: String, now: Double) -> [Action] {
        guard let state = requests.removeValue(forKey: id) else { return [] }
        queue.removeAll { $0 == id }
        finished.insert(id)
        if let version = state.evalVersion { return evalGaveUp(id, version: version, reason: reason, now: now) }
        counters.givenUp += 1
        openBatches[state.batchIndex]?.failures[id] = reason
        openBatches[state.batchIndex]?.failedOutcomes[id] = Self.outcome(ofStoredReason: reason)
        return [
            .persist(.gaveUp(requestID: id, reason: reason)),
            .log(.error, "request \(id) given up after \(state.request.attempt) attempt(s): \(reason)"),
        ] + completeBatches()
    }

    /// Emits complete batches in index order (batch files appear in order), then opens more.
    mutating func completeBatches() -> [Action] {
        var actions: [Action] = []
        while let next = openBatches[batchesCompleted + 1], next.isComplete {
            openBatches.removeValue(forKey: next.index)
            batchesCompleted += 1
            actions.append(.batchComplete(next))
        }
        actions += openBatchesIfNeeded()
        return actions + finishJobIfDone()
    }

    /// Says `.jobComplete` once: every batch complete and nothing left for the eval to do.
    mutating func finishJobIfDone() -> [Action] {
        guard isJobComplete, !jobCompleteSent, !isEvalHoldingJob else { return [] }
        jobCompleteSent = true
        return [.jobComplete]
    }

    // MARK: Dispatch

    /// Opens batches while fewer than `maxBatchesInFlight` are open, counting complete batches
    /// an attached trainer has not pulled as open (backpressure: rollouts never run more than
    /// that many batches ahead of the trainer).
    mutating func openBatchesIfNeeded() -> [Action] {
        var actions: [Action] = []
        while batchesOpened < settings.batchCount
            && openBatches.count + (trainerBacklog ?? 0) < settings.maxBatchesInFlight
        {
            batchesOpened += 1
            let batch = nextBatch()
            var open = OpenBatch(index: batchesOpened, requestIDs: batch.map(\.requestID))
            for request in batch {
                open.taskTypes[request.requestID] = request.task.taskType
                requests[request.requestID] = RequestState(request: request, batchIndex: batchesOpened)
                queue.append(request.requestID)
            }
            openBatches[batchesOpened] = open
            actions.append(.log(.info, "batch \(batchesOpened) opened with \(batch.count) request(s)"))
        }
        return actions
    }

    /// Takes requests away from a worker that is gone: a request whose straggler copy still runs
    /// elsewhere keeps going there; the others are requeued.
    private mutating func release(_ ids: Set<String>, from workerID: String, reason: String) -> [Action] {
        var toRequeue: Set<String> = []
        for id in ids {
            guard var state = requests[id] else { continue }
            if state.backupWorkerID == workerID {
                state.backupWorkerID = nil
            } else if state.workerID == workerID, let backup = state.backupWorkerID {
                state.workerID = backup
                state.backupWorkerID = nil
            } else {
                toRequeue.insert(id)
                continue
            }
            requests[id] = state
        }
        return requeueAll(toRequeue, reason: reason)
    }

    /// Sends a copy of every request running longer than the straggler timeout to another free
    /// worker (one copy per request); whichever result comes first wins.
    private mutating func redispatchStragglers(now: Double) -> [Action] {
        guard settings.stragglerTimeout > 0 else { return [] }
        var actions: [Action] = []
        let slow = requests.filter { _, state in
            state.workerID != nil && state.backupWorkerID == nil
                && now - (state.dispatchedAt ?? now) > settings.stragglerTimeout
        }.keys.sorted()
        for id in slow {
            guard var state = requests[id],
                var backup = registry.available(policyVersion: policyVersion).first(where: { $0.id != state.workerID })
            else { continue }
            state.backupWorkerID = backup.id
            var copy = state.request
            copy.attempt += 1
            requests[id] = state
            backup.assigned.insert(id)
            registry[backup.id] = backup
            counters.stragglersRedispatched += 1
            actions.append(.send(to: backup.identity, .rolloutRequest(copy)))
            if state.evalVersion == nil {
                actions.append(.persist(.dispatched(requestID: id, attempt: copy.attempt, workerID: backup.id)))
            }
            actions.append(.log(.info, "request \(id) is a straggler on \(state.workerID ?? "?"); a copy goes to \(backup.id)"))
        }
        return actions
    }

    private mutating func requeueAll(_ ids: Set<String>, reason: String) -> [Action] {
        var actions: [Action] = []
        for id in ids.sorted().reversed() { actions += requeue([id], reason: reason) }
        return actions
    }

    mutating func requeue(_ ids: [String], reason: String, countsAsAttempt: Bool = true) -> [Action] {
        var actions: [Action] = []
        for id in ids {
            guard var state = requests[id], state.workerID != nil else { continue }
            state.workerID = nil
            state.dispatchedAt = nil
            if countsAsAttempt { state.request.attempt += 1 }
            requests[id] = state
            queue.insert(id, at: 0)
            counters.requeued += 1
            actions.append(.log(.info, "request \(id) requeued: \(reason)"))
        }
        return actions
    }

    /// Hands queued requests to workers with free slots, spreading them over the least busy.
    mutating func dispatch(now: Double) -> [Action] {
        var actions: [Action] = []
        var position = 0
        while position < queue.count {
            let available = registry.available(policyVersion: policyVersion)
            guard !available.isEmpty else { break }
            let id = queue[position]
            guard var state = requests[id] else {
                queue.remove(at: position)
                continue
            }
            // A retry goes to a worker it has not failed on; it waits for one while such a worker
            // is alive but busy, and takes any worker when none other is left.
            guard var worker = available.first(where: { !state.failedOn.contains($0.id) })
                ?? (hasOtherWorker(than: state.failedOn) ? nil : available.first)
            else {
                position += 1
                continue
            }
            queue.remove(at: position)
            state.workerID = worker.id
            state.request.policyVersion = policyVersion
            state.dispatchedAt = now
            requests[id] = state
            worker.assigned.insert(id)
            registry[worker.id] = worker
            counters.dispatched += 1
            if firstDispatchAt == nil { firstDispatchAt = now }
            actions.append(.send(to: worker.identity, .rolloutRequest(state.request)))
            // Eval requests are not stored: a restarted coordinator runs the eval again.
            if state.evalVersion == nil {
                actions.append(
                    .persist(.dispatched(requestID: id, attempt: state.request.attempt, workerID: worker.id)))
            }
        }
        return actions
    }

    /// Asks every worker to drain (job complete or coordinator shutting down), and every worker
    /// that registers from now on.
    public mutating func drainAll(reason: String) -> [Action] {
        drainReason = reason
        return registry.workers.values.sorted { $0.id < $1.id }.map { drain($0, reason: reason) }
    }

    private func drain(_ worker: WorkerRecord, reason: String) -> Action {
        var drain = Arbor_V1_Drain()
        drain.workerID = worker.id
        drain.reason = reason
        return .send(to: worker.identity, .drain(drain))
    }
}
