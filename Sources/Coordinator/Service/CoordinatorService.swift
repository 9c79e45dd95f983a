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
    }

    enum LocalEvent: Sendable {
        case batchWritten(BatchSummary)
        case batchFailed(index: Int, message: String)
        case shutdown(reason: String)
    }

    private let options: Options
    private let logger: Logger
    private let mailbox = Mailbox<LocalEvent>()
    private let writer: BatchWriter
    private let planner: RequestPlanner
    private let jobYAML: String
    /// The latest status, refreshed by the transport thread a few times a second.
    private let published = Mutex<JobStatus?>(nil)

    /// The most recent status snapshot (nil before the loop started). Thread-safe.
    public var currentStatus: JobStatus? { published.withLock { $0 } }

    /// Loads the job's task sets and prepares the run directory. Throws `CoordinatorError` or
    /// `JobConfigError` naming the file and place.
    public init(options: Options, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let catalog = try TaskCatalog(config: options.config)
        planner = try RequestPlanner(config: options.config, catalog: catalog)
        jobYAML = try options.config.yamlText()
        writer = try BatchWriter(runDirectory: options.runDirectory, config: options.config, logger: logger)
        try writer.writeJobAsRun(jobYAML)
    }

    /// Asks the coordinator to stop: workers are told to drain and the loop exits. Thread-safe.
    public func shutdown(reason: String) {
        mailbox.post(.shutdown(reason: reason))
    }

    /// Runs the job to completion (or shutdown). `onReady` gets the bound endpoints once the
    /// sockets are up. Returns the final status.
    public func run(onReady: @escaping @Sendable (Endpoints) -> Void = { _ in }) async throws -> JobStatus {
        try await withCheckedThrowingContinuation { continuation in
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
        var core = CoordinatorCore(
            settings: .init(
                coordinatorID: "coordinator-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))",
                batchCount: config.batch.count, maxBatchesInFlight: config.batch.maxBatchesInFlight,
                heartbeatInterval: Double(config.workers.heartbeatIntervalMs) / 1000,
                heartbeatLiveness: config.workers.heartbeatLiveness, jobYAML: jobYAML),
            now: Clock.now(), nextBatch: { planner.nextBatch() })
        var status = StatusBoard(config: config, startedAt: Date(), runDirectory: options.runDirectory.path)
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
                case .batchComplete(let batch):
                    status.batchClosed(batch)
                    writer.submit(batch) { [mailbox] outcome in
                        switch outcome {
                        case .success(let summary): mailbox.post(.batchWritten(summary))
                        case .failure(let error): mailbox.post(.batchFailed(index: batch.index, message: "\(error)"))
                        }
                    }
                case .log(let level, let message):
                    switch level {
                    case .info: logger.info("\(message)")
                    case .warning: logger.warning("\(message)")
                    case .error: logger.error("\(message)")
                    }
                case .jobComplete:
                    logger.info("all \(config.batch.count) batch(es) complete; draining workers")
                    stopping = stopping ?? (Clock.now(), "job complete")
                    for drain in core.drainAll(reason: "job complete") {
                        if case .send(let identity, let body) = drain { workers.send([identity, Wire.encode(body)]) }
                    }
                }
            }
            pending = []

            // Finished: every batch written (or shutdown asked) and workers gone or the grace over.
            if let stop = stopping {
                let written = status.batchesWritten + status.batchesFailed >= core.batchesCompleted
                let workersGone = core.registry.workers.isEmpty
                if (written && (workersGone || Clock.now() - stop.since > options.drainGrace))
                    || (stop.reason != "job complete" && Clock.now() - stop.since > options.drainGrace) {
                    workers.flush(timeout: 0.5)
                    workers.close()
                    control.close()
                    writer.finish()
                    return status.snapshot(core: core, now: Clock.now(), phase: core.isJobComplete ? "complete" : "stopped")
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
                    pending += core.badFrame(error, from: frames[0])
                } catch {}
            }
            for frames in control.receiveAll() {
                guard let identity = frames.first else { continue }
                let reply = answerControl(frames, core: core, status: &status)
                control.send([identity, Wire.encode(reply)])
            }
            if ready[mailboxIndex].readable {
                for event in mailbox.drain() {
                    switch event {
                    case .batchWritten(let summary):
                        status.batchWritten(summary)
                        logger.info("\(summary.logLine)")
                    case .batchFailed(let index, let message):
                        status.batchesFailed += 1
                        logger.error("batch \(index) could not be written: \(message)")
                    case .shutdown(let reason):
                        logger.info("shutting down: \(reason)")
                        stopping = stopping ?? (Clock.now(), reason)
                        for drain in core.drainAll(reason: reason) {
                            if case .send(let identity, let body) = drain { workers.send([identity, Wire.encode(body)]) }
                        }
                    }
                }
            }
            pending += core.tick(now: Clock.now())
            status.curveRefusals = authenticator?.refusals
            if Clock.now() - lastPublished > 0.25 {
                lastPublished = Clock.now()
                let snapshot = status.snapshot(core: core, now: lastPublished, phase: core.isJobComplete ? "complete" : "running")
                published.withLock { $0 = snapshot }
            }
        }
    }

    /// Answers one control-socket message (transport thread).
    private func answerControl(_ frames: [Frame], core: CoordinatorCore, status: inout StatusBoard) -> Body {
        guard frames.count == 2 else {
            status.controlBadFrames += 1
            return Wire.error(.badFrame, "expected one frame per message, got \(frames.count - 1)")
        }
        do {
            let envelope = try Wire.decode(frames[1])
            switch envelope.body {
            case .statusQuery:
                var reply = Arbor_V1_StatusReply()
                reply.statusJson = status.snapshot(core: core, now: Clock.now(), phase: core.isJobComplete ? "complete" : "running").json()
                return .statusReply(reply)
            default:
                return Wire.error(.unexpectedMessage, "\(envelope.body?.name ?? "empty") is not a control message")
            }
        } catch let error as ProtocolError {
            status.controlBadFrames += 1
            return Wire.errorBody(for: error)
        } catch {
            return Wire.error(.internal, "\(error)")
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
