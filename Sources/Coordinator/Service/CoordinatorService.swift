import ArborProtocol
import Foundation
import Logging
import Synchronization

/// The coordinator process's service: binds the worker and control ROUTERs, runs
/// `CoordinatorCore` on its transport thread, scores and writes complete batches on a thread of
/// their own, and answers status queries.
///
/// Thread-safe handle; sockets and the core live on the transport thread only.
public final class CoordinatorService: Sendable {
    /// Where the coordinator listens and what it runs.
    public struct Options: Sendable {
        public var config: JobConfig
        public var runDirectory: URL
        /// Worker ROUTER endpoint; port 0 picks a free port.
        public var bind: String
        /// Control ROUTER endpoint (CLI, trainer); port 0 picks a free port.
        public var control: String
        /// CURVE server key; nil for plain TCP.
        public var curve: CurveOptions?
        /// With `curve`: the Z85 public keys of the workers admitted (`CurveAuthenticator`);
        /// every other key is refused, logged and counted.
        public var authorizedWorkerKeys: [String] = []
        /// How long to wait for workers to deregister after the job completes, in seconds.
        public var drainGrace: Double = 10
        /// Loop tick, seconds.
        public var tickInterval: Double = 0.05
        /// HTTP address (`HOST:PORT`) for /metrics, /api/status, /healthz and the dashboard;
        /// nil serves no HTTP. Port 0 picks a free port.
        public var http: String?
        /// Seconds the HTTP server keeps serving the final status after the job ends; `shutdown`
        /// cuts it short.
        public var httpLinger: Double = 0

        public init(config: JobConfig, runDirectory: URL, bind: String, control: String) {
            self.config = config
            self.runDirectory = runDirectory
            self.bind = bind
            self.control = control
        }
    }

    /// The endpoints actually bound (ports resolved), reported once the sockets are up.
    public struct Endpoints: Sendable, Equatable {
        public var workers: String
        public var control: String
        /// The HTTP server's URL (`http://HOST:PORT`); nil without `Options.http`.
        public var http: String? = nil
    }

    enum LocalEvent: Sendable {
        /// These results are durable: acknowledge them.
        case committed(StoreWriter.Committed)
        case batchWritten(BatchSummary)
        case batchFailed(index: Int, message: String)
        case evalWritten(EvalReport)
        case evalFailed(version: UInt64, message: String)
        /// The trainer process `arbor run` started has exited.
        case trainerExited(status: Int32, description: String)
        case shutdown(reason: String)
    }

    private let options: Options
    private let logger: Logger
    private let mailbox = Mailbox<LocalEvent>()
    private let writer: BatchWriter
    private let planner: RequestPlanner
    /// The job's eval tasks; nil without `eval:`.
    private let evalSuite: EvalSuite?
    private let evalWriter: EvalWriter
    private let jobYAML: String
    private let store: RunStore
    private let storeWriter: StoreWriter
    /// What the run directory held when the coordinator started (empty for a new job).
    private let resumed: ResumedJob
    /// The latest status, refreshed by the transport thread a few times a second.
    private let published = Mutex<JobStatus?>(nil)

    /// The most recent status snapshot (nil before the loop started). Thread-safe.
    public var currentStatus: JobStatus? { published.withLock { $0 } }
    /// The HTTP side's view of the loop: whether it runs, when it last published, and whether
    /// shutdown was asked (ends the HTTP linger).
    private let liveness = Mutex(HTTPLiveness())

    /// Loads the job's task sets and prepares the run directory. Throws `CoordinatorError` or
    /// `JobConfigError` naming the file and place.
    public init(options: Options, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let catalog = try TaskCatalog(config: options.config)
        jobYAML = try options.config.yamlText()
        try FileManager.default.createDirectory(at: options.runDirectory, withIntermediateDirectories: true)
        store = try RunStore(path: options.runDirectory.appendingPathComponent("state.sqlite").path)
        try store.bindJob(yaml: jobYAML)
        resumed = try store.load()
        var planner = try RequestPlanner(config: options.config, catalog: catalog)
        if let state = resumed.samplerState {
            try planner.resume(samplerState: state, batchesPlanned: resumed.plannedBatches)
        }
        self.planner = planner
        evalSuite = try options.config.eval.map { _ in try EvalSuite(config: options.config) }
        evalWriter = EvalWriter(runDirectory: options.runDirectory)
        writer = try BatchWriter(
            runDirectory: options.runDirectory, config: options.config, store: store, aepoState: resumed.aepoState,
            logger: logger)
        try writer.writeJobAsRun(jobYAML)
        let mailbox = self.mailbox
        storeWriter = StoreWriter(store: store, logger: logger) { mailbox.post(.committed($0)) }
        if resumed.isResume {
            logger.info(
                "resuming \(options.config.name) from \(store.path): \(resumed.writtenBatches) batch(es) written, \(resumed.openBatches.count) open with \(resumed.results.count) result(s) kept")
        }
    }

    /// The trainer process started beside the coordinator exited with `status` (its exit code,
    /// or 128 + the signal that killed it; `description` says which). A failure, or an exit
    /// before every batch is acknowledged, stops the job. Thread-safe.
    public func trainerProcessExited(status: Int32, description: String) {
        mailbox.post(.trainerExited(status: status, description: description))
    }

    /// Asks the coordinator to stop: workers are told to drain and the loop exits. Thread-safe.
    public func shutdown(reason: String) {
        liveness.withLock { $0.shutdownRequested = true }
        mailbox.post(.shutdown(reason: reason))
    }

    /// Runs the job to completion (or shutdown). `onReady` gets the bound endpoints once the
    /// sockets are up. Returns the final status.
    public func run(onReady: @escaping @Sendable (Endpoints) -> Void = { _ in }) async throws -> JobStatus {
        let http = try await startHTTP()
        defer { http?.stop() }
        liveness.withLock { $0.loopRunning = true }
        let final = try await runLoop { endpoints in
            var endpoints = endpoints
            endpoints.http = http?.url
            onReady(endpoints)
        }
        published.withLock { $0 = final }
        liveness.withLock { $0.loopRunning = false }
        if http != nil { await linger() }
        return final
    }

    private func runLoop(onReady: @escaping @Sendable (Endpoints) -> Void) async throws -> JobStatus {
        defer { liveness.withLock { $0.loopRunning = false } }
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { [self] in
                do {
                    continuation.resume(returning: try self.loop(onReady: onReady))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "arbor-coordinator-transport"
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    // MARK: HTTP accessors (the server itself: CoordinatorService+HTTP.swift)

    var httpOptions: (address: String?, linger: Double) { (options.http, options.httpLinger) }
    var httpLogger: Logger { logger }
    /// Thread-safe.
    public var isLoopAlive: Bool { liveness.withLock { $0.isAlive(now: Clock.now()) } }
    var isShutdownRequested: Bool { liveness.withLock { $0.shutdownRequested } }

    // MARK: Transport thread

    private func loop(onReady: (Endpoints) -> Void) throws -> JobStatus {
        let context = ZMQContext()
        // CURVE: the ZAP handler must be bound in this context before the worker socket binds.
        let authenticator = try options.curve.map { _ in
            try CurveAuthenticator(context: context, authorizedKeys: options.authorizedWorkerKeys) { [logger] in
                logger.warning("\($0)")
            }
        }
        defer { authenticator?.stop() }
        var workerOptions = ZMQSocketOptions()
        workerOptions.curve = options.curve
        let workers = try BufferedSocket(context: context, type: .router, options: workerOptions, bind: options.bind)
        let control = try BufferedSocket(context: context, type: .router, options: ZMQSocketOptions(), bind: options.control)
        let endpoints = Endpoints(workers: workers.boundEndpoint ?? options.bind, control: control.boundEndpoint ?? options.control)
        logger.info("coordinator listening: workers \(endpoints.workers), control \(endpoints.control)")
        onReady(endpoints)

        var planner = self.planner
        let config = options.config
        let storeWriter = self.storeWriter
        let evalWriter = self.evalWriter
        var core = CoordinatorCore(
            settings: .init(
                coordinatorID: "coordinator-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))",
                batchCount: config.batch.count, maxBatchesInFlight: config.batch.maxBatchesInFlight,
                heartbeatInterval: Double(config.workers.heartbeatIntervalMs) / 1000,
                heartbeatLiveness: config.workers.heartbeatLiveness, jobYAML: jobYAML,
                stragglerTimeout: config.workers.stragglerTimeoutS, failures: config.failures,
                rolloutTimeout: config.workers.rolloutTimeoutS),
            now: Clock.now(), eval: evalSuite,
            nextBatch: {
                let batch = planner.nextBatch()
                // The plan and the sampler state after it are durable before any of its results
                // can be: the store writer commits in submission order.
                storeWriter.submit(
                    .batchPlanned(index: planner.batchesPlanned, requests: batch, samplerState: planner.samplerStateData))
                return batch
            })
        core.restore(resumed)
        let evaluated = config.eval == nil ? [] : evalWriter.existingReports(logger: logger)
        core.restoreEval(written: evaluated.map(\.policyVersion))
        var trainer = TrainerStream(
            settings: .init(
                maxStaleness: UInt64(config.maxStaleness), leaseTimeout: config.trainer.leaseTimeoutS,
                required: config.trainer.required),
            policyVersion: resumed.policyVersion, acked: resumed.ackedBatches,
            readRows: { [runDirectory = options.runDirectory] index in
                try BatchWriter.rows(of: index, in: runDirectory)
            })
        _ = trainer.batchWritten(resumed.writtenBatches, now: Clock.now())
        _ = core.trainerProgress(taken: trainer.taken, now: Clock.now())
        /// When the trainer acknowledged the last batch (the coordinator lingers for its final pull).
        var trainerDoneAt: Double?
        /// The trainer process `arbor run` started has exited: nobody will pull or acknowledge.
        var trainerGone = false
        var durable = DurableReplies()
        var status = StatusBoard(config: config, startedAt: Date(), runDirectory: options.runDirectory.path)
        // Batches a previous coordinator process wrote count as written for this one too.
        status.batchesWritten = resumed.writtenBatches
        status.evalReports = evaluated
        var stopping: (since: Double, reason: String)?
        var lastPublished = -Double.infinity

        var poller = Poller()
        let workerIndex = poller.add(workers.socket)
        let controlIndex = poller.add(control.socket)
        let mailboxIndex = poller.add(fileDescriptor: mailbox.fileDescriptor)

        var pending = core.start(now: Clock.now())
        while true {
            for action in pending {
                switch action {
                case .send(let identity, let body):
                    workers.send([identity, Wire.encode(body)])
                case .persist(let change):
                    storeWriter.submit(change)
                case .commitResult(let result, let identity):
                    durable.afterCommit(ofResult: result.requestID, ackTo: identity)
                    storeWriter.submit(.result(result))
                case .batchComplete(let batch):
                    status.batchClosed(batch)
                    writer.submit(batch) { [mailbox] outcome in
                        switch outcome {
                        case .success(let summary): mailbox.post(.batchWritten(summary))
                        case .failure(let error): mailbox.post(.batchFailed(index: batch.index, message: "\(error)"))
                        }
                    }
                case .evalComplete(let round):
                    evalWriter.submit(round) { [mailbox] outcome in
                        switch outcome {
                        case .success(let report): mailbox.post(.evalWritten(report))
                        case .failure(let error):
                            mailbox.post(.evalFailed(version: round.version, message: "\(error)"))
                        }
                    }
                case .log(let level, let message):
                    log(level, message)
                case .jobComplete:
                    logger.info("all \(config.batch.count) batch(es) complete; draining workers")
                    stopping = stopping ?? (Clock.now(), "job complete")
                    for drain in core.drainAll(reason: "job complete") {
                        if case .send(let identity, let body) = drain { workers.send([identity, Wire.encode(body)]) }
                    }
                }
            }
            pending = []

            // The last batch is written: a trainer waiting for more learns there is none.
            if core.isJobComplete, !trainer.jobEnded, status.batchesWritten + status.batchesFailed >= core.batchesCompleted {
                carryOut(&durable, trainer.endOfJob(now: Clock.now()), control: control)
            }
            if trainerDoneAt == nil, trainer.jobEnded, trainer.isDrained(total: config.batch.count) {
                trainerDoneAt = Clock.now()
            }
            // A trainer told the job ended publishes nothing more: the last version is known. One
            // that acknowledged every batch and has not pulled again within the grace is done too.
            if trainer.endsSent > 0 || trainerDoneAt.map({ Clock.now() - $0 > options.drainGrace }) == true {
                pending += core.trainerEnded(now: Clock.now())
            }

            // Finished: every batch written (or shutdown asked), workers gone or the grace over,
            // and an attached trainer has acknowledged every batch and had its final pull
            // answered (or the grace passed since its last ack).
            if let stop = stopping {
                let written = status.batchesWritten + status.batchesFailed >= core.batchesCompleted
                let workersGone = core.registry.workers.isEmpty
                let trainerDone =
                    !trainer.isAttached || trainerGone
                    || trainerDoneAt.map { trainer.endsSent > 0 || Clock.now() - $0 > options.drainGrace } ?? false
                if (written && trainerDone && (workersGone || Clock.now() - stop.since > options.drainGrace))
                    || (stop.reason != "job complete" && Clock.now() - stop.since > options.drainGrace) {
                    storeWriter.flush()
                    writer.finish()
                    evalWriter.finish()
                    for event in mailbox.drain() {
                        if case .committed(let committed) = event {
                            durable.deliver(committed, workers: workers, control: control)
                        }
                    }
                    workers.flush(timeout: 0.5)
                    control.flush(timeout: 0.5)
                    workers.close()
                    control.close()
                    return status.snapshot(
                        core: core, trainer: trainer, now: Clock.now(), phase: core.isFinished ? "complete" : "stopped")
                }
            }

            poller.setWantsWrite(workerIndex, workers.hasBacklog)
            poller.setWantsWrite(controlIndex, control.hasBacklog)
            let ready = poller.wait(timeoutMilliseconds: Int(options.tickInterval * 1000))
            if ready[workerIndex].writable { workers.flushOnce() }
            if ready[controlIndex].writable { control.flushOnce() }

            for frames in workers.receiveAll() {
                let now = Clock.now()
                guard frames.count == 2 else {
                    if let identity = frames.first {
                        pending += core.badFrame(
                            ProtocolError(.badFrame, "expected one frame per message, got \(frames.count - 1)"), from: identity)
                    }
                    continue
                }
                do {
                    let envelope = try Wire.decode(frames[1])
                    pending += core.received(envelope, from: frames[0], now: now)
                } catch let error as ProtocolError {
                    pending += core.badFrame(error, from: frames[0], now: now)
                } catch {}
            }
            for frames in control.receiveAll() {
                guard let identity = frames.first else { continue }
                pending += answerControl(
                    frames, core: &core, trainer: &trainer, status: &status, durable: &durable, control: control)
            }
            if ready[mailboxIndex].readable {
                for event in mailbox.drain() {
                    switch event {
                    case .committed(let committed):
                        durable.deliver(committed, workers: workers, control: control)
                    case .batchWritten(let summary):
                        status.batchWritten(summary)
                        logger.info("\(summary.logLine)")
                        carryOut(&durable, trainer.batchWritten(summary.index, now: Clock.now()), control: control)
                    case .batchFailed(let index, let message):
                        status.batchesFailed += 1
                        logger.error("batch \(index) could not be written: \(message)")
                        carryOut(&durable, trainer.batchFailed(index, now: Clock.now()), control: control)
                    case .evalWritten(let report):
                        status.evalWritten(report)
                        logger.info("\(report.logLine)")
                        pending += core.evalWritten(version: report.policyVersion, now: Clock.now())
                    case .evalFailed(let version, let message):
                        logger.error("eval of policy version \(version) could not be written: \(message)")
                        pending += core.evalWritten(version: version, now: Clock.now())
                    case .trainerExited(let code, let description):
                        trainerGone = true
                        pending += trainerExited(
                            code: code, description: description, core: &core, trainer: trainer, stopping: &stopping)
                    case .shutdown(let reason):
                        logger.info("shutting down: \(reason)")
                        stopping = stopping ?? (Clock.now(), reason)
                        for drain in core.drainAll(reason: reason) {
                            if case .send(let identity, let body) = drain { workers.send([identity, Wire.encode(body)]) }
                        }
                    }
                }
            }
            carryOut(&durable, trainer.tick(now: Clock.now()), control: control)
            carryOut(&durable, trainer.holdForEval(core.isEvaluating, now: Clock.now()), control: control)
            // Whatever this pass changed for the trainer (pulls, acks, written batches, expired
            // leases) may make room for new batches.
            pending += core.trainerProgress(taken: trainer.taken, now: Clock.now())
            pending += core.tick(now: Clock.now())
            status.curveRefusals = authenticator?.refusals
            if Clock.now() - lastPublished > 0.25 {
                lastPublished = Clock.now()
                status.sampleHistory(core: core, now: lastPublished)
                let snapshot = status.snapshot(
                    core: core, trainer: trainer, now: lastPublished, phase: core.isFinished ? "complete" : "running")
                published.withLock { $0 = snapshot }
                liveness.withLock { $0.lastPublished = Clock.now() }
            }
        }
    }

    /// Answers one control-socket message (transport thread): status queries at once, trainer
    /// pulls when a batch is ready, acks, and policies published (whose worker messages are
    /// returned as core actions). The loop passes the trainer's progress to the core afterwards.
    private func answerControl(
        _ frames: [Frame], core: inout CoordinatorCore, trainer: inout TrainerStream, status: inout StatusBoard,
        durable: inout DurableReplies, control: BufferedSocket
    ) -> [CoordinatorCore.Action] {
        let identity = frames[0]
        func reply(_ body: Body) { control.send([identity, Wire.encode(body)]) }
        guard frames.count == 2 else {
            status.controlBadFrames += 1
            reply(Wire.error(.badFrame, "expected one frame per message, got \(frames.count - 1)"))
            return []
        }
        let envelope: Envelope
        do {
            envelope = try Wire.decode(frames[1])
        } catch let error as ProtocolError {
            status.controlBadFrames += 1
            reply(Wire.errorBody(for: error))
            return []
        } catch {
            reply(Wire.error(.internal, "\(error)"))
            return []
        }
        let now = Clock.now()
        // An eval opened earlier in this pass (a publish) holds pulls from now on.
        carryOut(&durable, trainer.holdForEval(core.isEvaluating, now: now), control: control)
        switch envelope.body {
        case .statusQuery:
            var answer = Arbor_V1_StatusReply()
            answer.statusJson = status.snapshot(
                core: core, trainer: trainer, now: now, phase: core.isFinished ? "complete" : "running"
            ).json()
            reply(.statusReply(answer))
        case .batchPull(let pull):
            carryOut(&durable, trainer.pull(pull, from: identity, now: now), control: control)
        case .batchAck(let ack):
            carryOut(&durable, trainer.ack(ack, from: identity, now: now), control: control)
        case .policyUpdate(let update):
            let (answer, actions) = core.publishPolicy(update, now: now)
            if case .policyPublished = answer {
                // Answered once the policy is durable: a restarted coordinator still serves it.
                trainer.policyPublished(update.version)
                durable.afterCommit(ofPolicy: update.version, reply: answer, to: identity)
            } else {
                reply(answer)
            }
            return actions
        default:
            reply(Wire.error(.unexpectedMessage, "\(envelope.body?.name ?? "empty") is not a control message"))
        }
        return []
    }

    /// The trainer process exited (transport thread): a failure, or a clean exit before every
    /// batch is acknowledged, stops the job; a clean exit after the last acknowledgement means no
    /// version will follow.
    private func trainerExited(
        code: Int32, description: String, core: inout CoordinatorCore, trainer: TrainerStream,
        stopping: inout (since: Double, reason: String)?
    ) -> [CoordinatorCore.Action] {
        let total = options.config.batch.count
        if let stop = stopping, stop.reason != "job complete" {
            // Stopped with the rest (Ctrl-C): nobody will acknowledge any more, so stop waiting.
            logger.info("the trainer \(description) while the job stops (\(stop.reason))")
            return []
        }
        let reason: String
        if code != 0 {
            reason = "the trainer \(description)"
        } else if !trainer.isDrained(total: total) {
            reason = "the trainer exited with status 0 before the job completed (\(trainer.acked.count) of \(total) batch(es) acknowledged)"
        } else {
            logger.info("the trainer exited with status 0 after acknowledging every batch")
            return core.trainerEnded(now: Clock.now())
        }
        logger.error("\(reason); stopping the job")
        stopping = stopping ?? (Clock.now(), reason)
        return core.drainAll(reason: reason)
    }

    private func log(_ level: CoordinatorCore.LogLevel, _ message: String) {
        switch level {
        case .info: logger.info("\(message)")
        case .warning: logger.warning("\(message)")
        case .error: logger.error("\(message)")
        }
    }

    /// Carries out the trainer stream's actions (transport thread).
    private func carryOut(_ durable: inout DurableReplies, _ actions: [TrainerStream.Action], control: BufferedSocket) {
        for action in actions {
            switch action {
            case .reply(let identity, let body):
                control.send([identity, Wire.encode(body)])
            case .persistAck(let index, let trainerIdentity):
                durable.afterCommit(ofAck: index, echoTo: trainerIdentity)
                storeWriter.submit(.batchAcked(index: index))
            case .log(let level, let message):
                log(level, message)
            }
        }
    }
}

/// Monotonic seconds, for the state machines' deadlines.
enum Clock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
