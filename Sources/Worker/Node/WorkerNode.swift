import ArborProtocol
import Foundation
import Logging

/// A worker process's service: connects a DEALER to the coordinator, runs `WorkerSession` on
/// its transport thread and the backend on threads of their own, so heartbeats keep flowing
/// while trees grow.
///
/// Thread-safe handle; the socket and the session live on the transport thread only.
public final class WorkerNode: Sendable {
    /// How a worker connects and what it offers.
    public struct Options: Sendable {
        public var endpoint: String
        public var workerID: String
        public var slots: Int
        /// CURVE client keys; nil for plain TCP.
        public var curve: CurveOptions?
        /// How often the loop checks heartbeats and deadlines, in seconds.
        public var tickInterval: Double = 0.1
        /// How long a drain lets in-flight rollouts run before it stops them and reports them
        /// `cancelled` (`WorkerSession.Settings.rolloutDrainTimeout`).
        public var rolloutDrainTimeout = WorkerSession.Settings.defaultRolloutDrainTimeout

        public init(endpoint: String, workerID: String, slots: Int, curve: CurveOptions? = nil) {
            self.endpoint = endpoint
            self.workerID = workerID
            self.slots = slots
            self.curve = curve
        }

        /// "<host>-<pid>-<random>": unique across restarts and hosts.
        public static func defaultWorkerID() -> String {
            let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
            return "\(host)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        }
    }

    enum LocalEvent: Sendable {
        case finished(RolloutResult)
        case cancelled(requestID: String)
        case policyLoaded(version: UInt64, error: String?)
        case drain(reason: String)
    }

    private let options: Options
    private let backend: any PolicyBackend
    private let logger: Logger
    private let mailbox = Mailbox<LocalEvent>()
    /// Backend calls run here, never on the transport thread; at most `slots` at once because
    /// the session never starts more. Its threads are reused from request to request.
    private let rolloutQueue = DispatchQueue(label: "arbor.rollout", qos: .userInitiated, attributes: .concurrent)

    public init(options: Options, backend: any PolicyBackend, logger: Logger) {
        self.options = options
        self.backend = backend
        self.logger = logger
    }

    /// Asks the worker to drain: finish in-flight work, deregister, exit. Thread-safe (signal
    /// handlers call it).
    public func requestDrain(reason: String) {
        mailbox.post(.drain(reason: reason))
    }

    /// Runs until the worker drains or fails; returns the process exit status.
    public func run() async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { [self] in
                do {
                    continuation.resume(returning: try self.loop())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "arbor-worker-transport"
            thread.start()
        }
    }

    // MARK: Transport thread

    private func loop() throws -> Int32 {
        let context = ZMQContext()
        let host = ProcessInfo.processInfo.hostName
        var settings = WorkerSession.Settings(
            workerID: options.workerID, host: host, pid: UInt32(getpid()), slots: options.slots, backend: backend.name)
        settings.rolloutDrainTimeout = options.rolloutDrainTimeout
        var session = WorkerSession(settings: settings, now: Self.now())
        var connection = try connect(context)
        var cancellations: [String: CancellationFlag] = [:]
        var tokenWindow = TokenRate()
        var rateUpdated = -Double.infinity
        logger.info("worker \(options.workerID) connecting to \(options.endpoint) with \(options.slots) slot(s)")

        var pending = session.handle(.connected, now: Self.now())
        while true {
            // Carry out what the session asked for.
            while !pending.isEmpty {
                let action = pending.removeFirst()
                switch action {
                case .send(let body):
                    connection.send(Wire.encode(body))
                case .start(let request):
                    let flag = CancellationFlag()
                    cancellations[request.requestID] = flag
                    startRollout(request, flag: flag)
                case .cancel(let requestID):
                    cancellations.removeValue(forKey: requestID)?.cancel()
                case .reconnect:
                    logger.warning("coordinator silent; reconnecting to \(options.endpoint)")
                    connection.close()
                    connection = try connect(context)
                    pending += session.handle(.connected, now: Self.now())
                case .configure(let yaml):
                    do {
                        try backend.configure(jobYAML: yaml)
                    } catch {
                        // A job this worker cannot serve: say so and leave rather than fail every request.
                        logger.error("cannot serve this job: \(error)")
                        pending += session.handle(.drainRequested(reason: "cannot serve the job: \(error)"), now: Self.now())
                    }
                case .loadPolicy(let version, let path):
                    startPolicyLoad(version: version, path: path)
                case .exit(let code):
                    connection.flush(timeout: 1)
                    connection.close()
                    logger.info("worker \(options.workerID) exiting with status \(code)")
                    return code
                }
            }

            let ready = connection.wait(mailbox: mailbox, timeout: options.tickInterval)
            if ready {
                for event in mailbox.drain() {
                    switch event {
                    case .finished(let result):
                        cancellations.removeValue(forKey: result.requestID)
                        tokenWindow.add(tokens: Double(result.stats.generatedTokens), at: Self.now())
                        var stamped = result
                        stamped.workerID = options.workerID
                        // The tree's tool calls say whether it is clean, a model's bad call or an
                        // infrastructure failure.
                        stamped.outcomeDetail = result.classifiedDetail
                        stamped.outcome = result.classifiedOutcome.wire
                        if !stamped.rolloutOutcome.isScored {
                            logger.warning("request \(result.requestID) ended as \(stamped.rolloutOutcome.rawValue): \(stamped.outcomeDetail)")
                        }
                        pending += session.handle(.finished(stamped), now: Self.now())
                    case .cancelled(let requestID):
                        logger.info("request \(requestID) cancelled")
                    case .policyLoaded(let version, let error):
                        if let error { logger.error("policy \(version) failed to load: \(error)") }
                        pending += session.handle(.policyLoaded(version: version, error: error), now: Self.now())
                    case .drain(let reason):
                        logger.info("draining (\(reason)): \(session.inFlight.count) request(s) in flight")
                        pending += session.handle(.drainRequested(reason: reason), now: Self.now())
                    }
                }
            }
            for frames in connection.receiveAll() {
                guard let frame = frames.last else { continue }
                do {
                    let envelope = try Wire.decode(frame)
                    pending += session.handle(.received(envelope), now: Self.now())
                    if case .error(let error) = envelope.body {
                        logger.warning("coordinator error \(error.code): \(error.message)")
                    }
                } catch let error as ProtocolError {
                    logger.warning("dropped a bad frame from the coordinator: \(error)")
                    connection.send(Wire.errorReply(for: error))
                }
            }
            let now = Self.now()
            if now - rateUpdated > 0.5 {
                rateUpdated = now
                session.setTokensPerSecond(tokenWindow.rate(at: now))
            }
            pending += session.handle(.tick, now: now)
        }
    }

    private func connect(_ context: ZMQContext) throws -> Connection {
        var socketOptions = ZMQSocketOptions()
        socketOptions.routingID = options.workerID
        socketOptions.curve = options.curve
        return try Connection(context: context, endpoint: options.endpoint, options: socketOptions)
    }

    private func startRollout(_ request: RolloutRequest, flag: CancellationFlag) {
        let backend = self.backend
        let mailbox = self.mailbox
        rolloutQueue.async {
            do {
                let result = try backend.rollout(request, cancellation: flag)
                mailbox.post(.finished(result))
            } catch let error as WorkerError where error.code == .cancelled {
                mailbox.post(.cancelled(requestID: request.requestID))
            } catch {
                // A typed outcome the coordinator's failure policy acts on, kept and re-sent like
                // any result until acknowledged.
                mailbox.post(.finished(.failed(request, outcome: .backendError, detail: "\(error)")))
            }
        }
    }

    private func startPolicyLoad(version: UInt64, path: String) {
        let backend = self.backend
        let mailbox = self.mailbox
        let logger = self.logger
        Thread {
            logger.info("loading policy version \(version) from \(path)")
            do {
                try backend.loadPolicy(weightsPath: path)
                mailbox.post(.policyLoaded(version: version, error: nil))
            } catch {
                mailbox.post(.policyLoaded(version: version, error: "\(error)"))
            }
        }.start()
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Generated tokens per second over a sliding window, for heartbeats and status.
struct TokenRate {
    private var samples: [(time: Double, tokens: Double)] = []
    let window: Double = 10

    mutating func add(tokens: Double, at time: Double) {
        samples.append((time, tokens))
    }

    mutating func rate(at time: Double) -> Double {
        samples.removeAll { time - $0.time > window }
        guard let first = samples.first else { return 0 }
        let span = max(time - first.time, 1)
        return samples.reduce(0) { $0 + $1.tokens } / span
    }
}
