import ArborProtocol
import Foundation
import Logging
import Synchronization

/// The coordinator process's service: binds the worker and control ROUTERs, runs
/// `CoordinatorSession` (and in it `CoordinatorCore`) on its transport thread, scores and writes
/// complete batches on a queue of their own, and answers status queries.
///
/// Thread-safe handle; sockets and the session live on the transport thread only
/// (`CoordinatorService+Loop.swift`).
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
        /// Decodes the token ids of prompts (and of trees without text) for the tree viewer;
        /// nil shows those without text.
        public var treeText: TokenText?

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

    let options: Options
    let logger: Logger
    /// Events from other threads (writers, signals, the trainer process) for the transport loop.
    let mailbox = Mailbox<CoordinatorSession.Event>()
    let writer: BatchWriter
    private let planner: RequestPlanner
    /// The job's eval tasks; nil without `eval:`.
    private let evalSuite: EvalSuite?
    let evalWriter: EvalWriter
    private let jobYAML: String
    private let store: RunStore
    let storeWriter: StoreWriter
    /// What the run directory held when the coordinator started (empty for a new job).
    let resumed: ResumedJob
    /// The latest status, refreshed by the transport thread a few times a second.
    let published = Mutex<JobStatus?>(nil)

    /// The most recent status snapshot (nil before the loop started). Thread-safe.
    public var currentStatus: JobStatus? { published.withLock { $0 } }
    /// The HTTP side's view of the loop: whether it runs, when it last published, and whether
    /// shutdown was asked (ends the HTTP linger).
    let liveness = Mutex(HTTPLiveness())

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

    /// Whether the run directory already holds every batch of the job: a finished job, resumed,
    /// with nothing left to roll out (a trainer may still have batches to pull).
    public var holdsEveryBatch: Bool { resumed.writtenBatches >= options.config.batch.count }

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
        // The final status stays with the run, so `arbor serve` can show a finished run's dashboard.
        do {
            try BatchWriter.writeAtomically(
                final.json(pretty: true) + "\n", to: options.runDirectory.appendingPathComponent("status.json"))
        } catch {
            logger.warning("cannot keep the final status in the run directory: \(error)")
        }
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
    /// The run directory's trees and their decoder, for the HTTP tree viewer.
    var treeSource: (trees: RunTrees, text: TokenText?) {
        (RunTrees(runDirectory: options.runDirectory, config: options.config), options.treeText)
    }
    var httpLogger: Logger { logger }
    /// Thread-safe.
    public var isLoopAlive: Bool { liveness.withLock { $0.isAlive(now: Clock.now()) } }
    var isShutdownRequested: Bool { liveness.withLock { $0.shutdownRequested } }

    // MARK: The session (its loop: CoordinatorService+Loop.swift)

    /// The coordinator's state machine for this job, restored from the run directory.
    /// Called on the transport thread, which owns it from then on.
    func makeSession() -> CoordinatorSession {
        var planner = self.planner
        let config = options.config
        let storeWriter = self.storeWriter
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
        let trainer = TrainerStream(
            settings: .init(
                maxStaleness: UInt64(config.maxStaleness), leaseTimeout: config.trainer.leaseTimeoutS,
                required: config.trainer.required),
            policyVersion: resumed.policyVersion, acked: resumed.ackedBatches)
        var status = StatusBoard(config: config, startedAt: Date(), runDirectory: options.runDirectory.path)
        // Batches a previous coordinator process wrote count as written for this one too.
        status.batchesWritten = resumed.writtenBatches
        status.evalReports = evaluated
        return CoordinatorSession(
            settings: .init(batchCount: config.batch.count, drainGrace: options.drainGrace), core: core,
            trainer: trainer, status: status)
    }

    func log(_ level: CoordinatorCore.LogLevel, _ message: String) {
        switch level {
        case .info: logger.info("\(message)")
        case .warning: logger.warning("\(message)")
        case .error: logger.error("\(message)")
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
