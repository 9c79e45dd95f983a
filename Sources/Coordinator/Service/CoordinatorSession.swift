import ArborProtocol

/// The coordinator service's logic as a pure state machine: decodes what the worker and
/// control sockets received, runs `CoordinatorCore` and `TrainerStream` on it, holds durable
/// replies until their commit, keeps the status board, and decides when to stop.
///
/// No sockets, no files and no clock of its own: the transport loop
/// (`CoordinatorService+Loop.swift`) reads the clock once per pass, feeds every event of that
/// pass with the same `now`, and carries out the returned actions in order. Not thread-safe;
/// owned by the coordinator's transport thread.
struct CoordinatorSession {
    /// What the session asks its transport loop to do.
    enum Action: Equatable {
        /// Send a message to the worker behind a routing id (worker socket).
        case sendToWorker(Frame, Body)
        /// Send a message to the control client behind a routing id (control socket).
        case reply(to: Frame, Body)
        /// Record a change in the run store (store writer; order preserved). Its commit comes
        /// back as `committed`.
        case persist(RunStore.Change)
        /// Score and write a complete batch (batch writer); the outcome comes back as
        /// `batchWritten` or `batchFailed`.
        case writeBatch(CoordinatorCore.OpenBatch)
        /// Report and write a finished eval round (eval writer); the outcome comes back as
        /// `evalWritten` or `evalFailed`.
        case writeEval(EvalRound)
        /// Read a written batch's rows (on the batch writer's queue); they come back as `rowsRead`.
        case readRows(batch: Int)
        case log(CoordinatorCore.LogLevel, String)
        /// The status as of now, for `currentStatus`, `/api/status` and `/healthz`.
        case publish(JobStatus)
        /// Stop: wait for the writers, feed their last commits back, flush and close the sockets,
        /// and return `finalStatus`. Sent once.
        case finish
    }

    /// What happened, as seen by the transport loop.
    enum Event: Sendable {
        /// One multipart message from the worker ROUTER (routing id first).
        case fromWorker([Frame])
        /// One multipart message from the control ROUTER (routing id first).
        case fromControl([Frame])
        /// These store changes are durable: send the replies that waited for them.
        case committed(StoreWriter.Committed)
        case batchWritten(BatchSummary)
        case batchFailed(index: Int, message: String)
        case rowsRead(batch: Int, Result<[Substring], CoordinatorError>)
        case evalWritten(EvalReport)
        case evalFailed(version: UInt64, message: String)
        /// The trainer process `arbor run` started has exited.
        case trainerExited(status: Int32, description: String)
        case shutdown(reason: String)
        /// The end of a pass: leases, heartbeats, backpressure, status and the stop decision.
        /// `curveRefusals` is the CURVE authenticator's count (nil on plain TCP).
        case tick(curveRefusals: Int?)
    }

    struct Settings: Sendable {
        /// Batches in the job.
        var batchCount: Int
        /// Seconds to wait for workers to deregister, and for the trainer's last pull, after the
        /// job completes; and for workers to go after a shutdown.
        var drainGrace: Double
        /// Seconds between status publications.
        var publishInterval: Double = 0.25
    }

    let settings: Settings
    // The parts are internal, not private(set), so that `+Control` can drive them; only the
    // session's own `handle` changes them.
    var core: CoordinatorCore
    var trainer: TrainerStream
    var status: StatusBoard
    var durable = DurableReplies()
    /// Set once the coordinator decided to stop.
    private(set) var stopping: (since: Double, reason: StopReason)?
    /// When the trainer acknowledged the last batch (the coordinator lingers for its final pull).
    private var trainerDoneAt: Double?
    /// The trainer process `arbor run` started has exited: nobody will pull or acknowledge.
    private var trainerGone = false
    private var lastPublished = -Double.infinity
    private(set) var isFinishing = false

    /// `core` restored from the run store (not started), `trainer` with the acknowledged batches,
    /// `status` with the batches and evals written before; `written` batches are on disk already.
    init(settings: Settings, core: CoordinatorCore, trainer: TrainerStream, status: StatusBoard) {
        self.settings = settings
        self.core = core
        self.trainer = trainer
        self.status = status
    }

    /// Starts the job: batches already written may be served, and the core opens and dispatches.
    mutating func start(written: Int, now: Double) -> [Action] {
        var actions = carryOut(trainer.batchWritten(written, now: now))
        actions += translate(core.trainerProgress(taken: trainer.taken, now: now), now: now)
        return actions + translate(core.start(now: now), now: now)
    }

    /// Advances the session by one event; `now` is the pass's monotonic time in seconds.
    mutating func handle(_ event: Event, now: Double) -> [Action] {
        switch event {
        case .fromWorker(let frames):
            return fromWorker(frames, now: now)
        case .fromControl(let frames):
            return fromControl(frames, now: now)
        case .committed(let committed):
            return durable.deliver(committed)
        case .batchWritten(let summary):
            status.batchWritten(summary)
            return [.log(.info, summary.logLine)] + carryOut(trainer.batchWritten(summary.index, now: now))
        case .batchFailed(let index, let message):
            status.batchesFailed += 1
            return [.log(.error, "batch \(index) could not be written: \(message)")]
                + carryOut(trainer.batchFailed(index, now: now))
        case .rowsRead(let index, let rows):
            return carryOut(trainer.rowsRead(index, rows, now: now))
        case .evalWritten(let report):
            status.evalWritten(report)
            return [.log(.info, report.logLine)] + translate(core.evalWritten(version: report.policyVersion, now: now), now: now)
        case .evalFailed(let version, let message):
            return [.log(.error, "eval of policy version \(version) could not be written: \(message)")]
                + translate(core.evalWritten(version: version, now: now), now: now)
        case .trainerExited(let code, let description):
            trainerGone = true
            return trainerExited(code: code, description: description, now: now)
        case .shutdown(let reason):
            return [.log(.info, "shutting down: \(reason)")] + stop(.shutdown(reason), now: now)
        case .tick(let curveRefusals):
            status.curveRefusals = curveRefusals
            return tick(now: now)
        }
    }

    /// The status as the job ends; after `finish` was carried out.
    func finalStatus(now: Double) -> JobStatus {
        status.snapshot(core: core, trainer: trainer, now: now, phase: core.isFinished ? "complete" : "stopped")
    }

    // MARK: Worker socket

    private mutating func fromWorker(_ frames: [Frame], now: Double) -> [Action] {
        guard let identity = frames.first else { return [] }
        guard frames.count == 2 else {
            return translate(
                core.badFrame(
                    ProtocolError(.badFrame, "expected one frame per message, got \(frames.count - 1)"), from: identity),
                now: now)
        }
        do {
            return translate(core.received(try Wire.decode(frames[1]), from: identity, now: now), now: now)
        } catch let error as ProtocolError {
            return translate(core.badFrame(error, from: identity, now: now), now: now)
        } catch {
            return []
        }
    }

    // MARK: Pass end

    private mutating func tick(now: Double) -> [Action] {
        var actions = carryOut(trainer.tick(now: now))
        actions += carryOut(trainer.holdForEval(core.isEvaluating, now: now))
        // Whatever this pass changed for the trainer (pulls, acks, written batches, expired
        // leases) may make room for new batches.
        actions += translate(core.trainerProgress(taken: trainer.taken, now: now), now: now)
        actions += translate(core.tick(now: now), now: now)
        if now - lastPublished > settings.publishInterval {
            lastPublished = now
            status.sampleHistory(core: core, now: now)
            actions.append(
                .publish(
                    status.snapshot(core: core, trainer: trainer, now: now, phase: core.isFinished ? "complete" : "running")
                ))
        }
        return actions + afterTick(now: now)
    }

    private var everyBatchWritten: Bool { status.batchesWritten + status.batchesFailed >= core.batchesCompleted }

    /// The end of the job as the trainer sees it, and the stop decision.
    private mutating func afterTick(now: Double) -> [Action] {
        var actions: [Action] = []
        // The last batch is written: a trainer waiting for more learns there is none.
        if core.isJobComplete, !trainer.jobEnded, everyBatchWritten {
            actions += carryOut(trainer.endOfJob(now: now))
        }
        if trainerDoneAt == nil, trainer.jobEnded, trainer.isDrained(total: settings.batchCount) {
            trainerDoneAt = now
        }
        // A trainer told the job ended publishes nothing more: the last version is known. One
        // that acknowledged every batch and has not pulled again within the grace is done too.
        if trainer.endsSent > 0 || trainerDoneAt.map({ now - $0 > settings.drainGrace }) == true {
            actions += translate(core.trainerEnded(now: now), now: now)
        }
        if !isFinishing, shouldFinish(now: now) {
            isFinishing = true
            actions.append(.finish)
        }
        return actions
    }

    /// Finished: every batch written, workers gone or the grace over, and an attached trainer
    /// has acknowledged every batch and had its final pull answered (or the grace passed since
    /// its last ack). A stop for any other reason waits for the workers at most the grace.
    private func shouldFinish(now: Double) -> Bool {
        guard let stop = stopping else { return false }
        let graceOver = now - stop.since > settings.drainGrace
        let workersGone = core.registry.workers.isEmpty
        let trainerDone =
            !trainer.isAttached || trainerGone
            || trainerDoneAt.map { trainer.endsSent > 0 || now - $0 > settings.drainGrace } ?? false
        if everyBatchWritten && trainerDone && (workersGone || graceOver) { return true }
        return stop.reason != .jobComplete && graceOver
    }

    /// Decides to stop (the first reason wins) and tells every worker to drain.
    private mutating func stop(_ reason: StopReason, now: Double) -> [Action] {
        if stopping == nil { stopping = (now, reason) }
        return core.drainAll(reason: reason.description).compactMap { action in
            guard case .send(let identity, let body) = action else { return nil }
            return .sendToWorker(identity, body)
        }
    }

    /// The trainer process exited: a failure, or a clean exit before every batch is
    /// acknowledged, stops the job; a clean exit after the last acknowledgement means no version
    /// will follow.
    private mutating func trainerExited(code: Int32, description: String, now: Double) -> [Action] {
        let total = settings.batchCount
        if let stop = stopping, stop.reason != .jobComplete {
            // Stopped with the rest (Ctrl-C): nobody will acknowledge any more, so stop waiting.
            return [.log(.info, "the trainer \(description) while the job stops (\(stop.reason))")]
        }
        let reason: String
        if code != 0 {
            reason = "the trainer \(description)"
        } else if !trainer.isDrained(total: total) {
            reason =
                "the trainer exited with status 0 before the job completed (\(trainer.acked.count) of \(total) batch(es) acknowledged)"
        } else {
            return [.log(.info, "the trainer exited with status 0 after acknowledging every batch")]
                + translate(core.trainerEnded(now: now), now: now)
        }
        return [.log(.error, "\(reason); stopping the job")] + stop(.trainerFailed(reason), now: now)
    }

    // MARK: Translating the parts' actions

    /// The core's actions as the loop's; bookkeeping (durable acks, closed batches, the job's
    /// completion) happens here.
    mutating func translate(_ actions: [CoordinatorCore.Action], now: Double) -> [Action] {
        var out: [Action] = []
        for action in actions {
            switch action {
            case .send(let identity, let body):
                out.append(.sendToWorker(identity, body))
            case .persist(let change):
                out.append(.persist(change))
            case .commitResult(let result, let identity):
                durable.afterCommit(ofResult: result.requestID, ackTo: identity)
                out.append(.persist(.result(result)))
            case .batchComplete(let batch):
                status.batchClosed(batch)
                out.append(.writeBatch(batch))
            case .evalComplete(let round):
                out.append(.writeEval(round))
            case .log(let level, let message):
                out.append(.log(level, message))
            case .jobComplete:
                out.append(.log(.info, "all \(settings.batchCount) batch(es) complete; draining workers"))
                out += stop(.jobComplete, now: now)
            }
        }
        return out
    }

    /// The trainer stream's actions as the loop's.
    mutating func carryOut(_ actions: [TrainerStream.Action]) -> [Action] {
        actions.map { action in
            switch action {
            case .reply(let identity, let body):
                return .reply(to: identity, body)
            case .persistAck(let index, let trainerIdentity):
                durable.afterCommit(ofAck: index, echoTo: trainerIdentity)
                return .persist(.batchAcked(index: index))
            case .readRows(let index):
                return .readRows(batch: index)
            case .log(let level, let message):
                return .log(level, message)
            }
        }
    }
}
