import ArborProtocol

/// The worker's side of the protocol as a pure state machine (the ZeroMQ guide's Paranoid
/// Pirate worker): registration, heartbeats both ways, reconnect with backoff when the
/// coordinator goes silent, results kept until acknowledged, and draining.
///
/// No sockets and no clock of its own: `WorkerNode` feeds it events with the current monotonic
/// time in seconds and carries out the returned actions. Not thread-safe; owned by the node's
/// transport thread.
public struct WorkerSession {
    /// What the session asks its node to do.
    public enum Action: Equatable {
        /// Send one message to the coordinator.
        case send(Body)
        /// Start working on a request (on a backend thread).
        case start(RolloutRequest)
        /// Stop working on a request; its result, if any, is no longer wanted.
        case cancel(requestID: String)
        /// Drop the socket and connect a fresh one (then `connected` is fed back).
        case reconnect
        /// Hand the coordinator's job as run to the backend (after a registration that changed it).
        case configure(jobYAML: String)
        /// Load new policy weights between requests, then feed `policyLoaded` back.
        case loadPolicy(version: UInt64, weightsPath: String)
        /// Leave the event loop and exit with this status.
        case exit(code: Int32)
    }

    /// What happened, as seen by the node.
    public enum Event {
        /// A fresh socket was connected (at start and after every `.reconnect`).
        case connected
        case received(Envelope)
        /// A backend finished a request.
        case finished(RolloutResult)
        case policyLoaded(version: UInt64, error: String?)
        /// SIGTERM/SIGINT or a coordinator `Drain`: finish in-flight work, deregister, exit.
        case drainRequested(reason: String)
        /// Time passed; check heartbeats and deadlines.
        case tick
    }

    public struct Settings: Sendable {
        public var workerID: String
        public var host: String
        public var pid: UInt32
        public var slots: Int
        public var backend: String
        /// Used until the coordinator's RegisterAck says otherwise.
        public var heartbeatInterval: Double = 1
        public var heartbeatLiveness: Int = 5
        /// First reconnect delay; doubles per failed attempt up to `maxReconnectDelay`.
        public var reconnectDelay: Double = 0.5
        public var maxReconnectDelay: Double = 16
        /// How long a drain waits for unacknowledged results before giving up on them.
        public var drainTimeout: Double = 30
        /// How long a drain lets in-flight rollouts run: past it each is stopped and reported
        /// as `cancelled`, and the coordinator's `failures:` policy retries it elsewhere.
        public var rolloutDrainTimeout = Self.defaultRolloutDrainTimeout
        /// 540 s: inside Kubernetes' usual 600 s termination grace, with time left to report.
        public static let defaultRolloutDrainTimeout: Double = 540

        public init(workerID: String, host: String, pid: UInt32, slots: Int, backend: String) {
            self.workerID = workerID
            self.host = host
            self.pid = pid
            self.slots = slots
            self.backend = backend
        }
    }

    public private(set) var settings: Settings
    /// The coordinator this session last registered with; nil until the first RegisterAck.
    public private(set) var coordinatorID: String?
    public private(set) var registered = false
    public private(set) var draining = false
    public private(set) var policyVersion: UInt64 = 0
    /// Requests being worked on, by id.
    public private(set) var inFlight: [String: RolloutRequest] = [:]
    /// Results sent but not yet acknowledged; re-sent after every re-registration.
    public private(set) var unacknowledged: [String: RolloutResult] = [:]
    /// The coordinator's job as run (job.yaml text), from the last RegisterAck.
    public private(set) var jobYAML: String = ""
    /// Monotonic time of the last message from the coordinator.
    private var lastHeard: Double
    private var lastSent: Double = -.infinity
    private var currentReconnectDelay: Double
    private var drainStarted: Double?
    private var pendingPolicy: (version: UInt64, path: String)?
    private var loadingPolicy = false
    public private(set) var tokensPerSecond: Double = 0

    public init(settings: Settings, now: Double) {
        self.settings = settings
        self.lastHeard = now
        self.currentReconnectDelay = settings.reconnectDelay
    }

    /// Seconds of silence after which the coordinator counts as gone.
    var deadAfter: Double { settings.heartbeatInterval * Double(settings.heartbeatLiveness) }

    /// Reports the generation rate the next heartbeat carries.
    public mutating func setTokensPerSecond(_ rate: Double) { tokensPerSecond = rate }

    /// Advances the state machine by one event.
    public mutating func handle(_ event: Event, now: Double) -> [Action] {
        switch event {
        case .connected:
            lastHeard = now
            registered = false
            return [sendRegister(now: now)]
        case .received(let envelope):
            lastHeard = now
            return received(envelope, now: now)
        case .finished(let result):
            guard inFlight.removeValue(forKey: result.requestID) != nil else { return [] }
            unacknowledged[result.requestID] = result
            var actions: [Action] = registered ? [sent(.rolloutResult(result), now: now)] : []
            actions += afterWorkChanged(now: now)
            return actions
        case .policyLoaded(let version, let error):
            loadingPolicy = false
            var loaded = Arbor_V1_PolicyLoaded()
            loaded.workerID = settings.workerID
            loaded.version = version
            if let error { loaded.error = error } else { policyVersion = version }
            return [sent(.policyLoaded(loaded), now: now)] + afterWorkChanged(now: now)
        case .drainRequested(let reason):
            guard !draining else { return [] }
            draining = true
            drainStarted = now
            var drain = Arbor_V1_Drain()
            drain.workerID = settings.workerID
            drain.reason = reason
            return [sent(.drain(drain), now: now)] + afterWorkChanged(now: now)
        case .tick:
            return tick(now: now)
        }
    }

    // MARK: Events

    private mutating func received(_ envelope: Envelope, now: Double) -> [Action] {
        switch envelope.body {
        case .registerAck(let ack):
            let restarted = coordinatorID != nil && coordinatorID != ack.coordinatorID
            coordinatorID = ack.coordinatorID
            registered = true
            currentReconnectDelay = settings.reconnectDelay
            if ack.heartbeatIntervalMs > 0 { settings.heartbeatInterval = Double(ack.heartbeatIntervalMs) / 1000 }
            if ack.heartbeatLiveness > 0 { settings.heartbeatLiveness = Int(ack.heartbeatLiveness) }
            var actions: [Action] = []
            if jobYAML != ack.jobYaml {
                jobYAML = ack.jobYaml
                actions.append(.configure(jobYAML: jobYAML))
            }
            // Everything finished but not yet acknowledged goes again: the coordinator drops
            // duplicates by request id, so re-sending is always safe and never loses a result.
            for result in unacknowledged.values.sorted(by: { $0.requestID < $1.requestID }) {
                actions.append(sent(.rolloutResult(result), now: now))
            }
            if ack.policyVersion != policyVersion && ack.policyVersion > 0 {
                pendingPolicy = (ack.policyVersion, ack.policyWeightsPath)
            }
            if restarted, draining {
                var drain = Arbor_V1_Drain()
                drain.workerID = settings.workerID
                drain.reason = "draining"
                actions.append(sent(.drain(drain), now: now))
            }
            return actions + afterWorkChanged(now: now)
        case .heartbeat:
            return []
        case .rolloutRequest(let request):
            if !registered || draining || inFlight.count >= settings.slots {
                let reason = draining ? "worker is draining" : "worker has no free slot"
                return [sent(Wire.error(.refused, reason, requestID: request.requestID), now: now)]
            }
            if inFlight[request.requestID] != nil || unacknowledged[request.requestID] != nil { return [] }
            // The tree is stamped with the weights this worker actually serves, whatever the
            // coordinator believed when it dispatched.
            var request = request
            request.policyVersion = policyVersion
            inFlight[request.requestID] = request
            return [.start(request)]
        case .resultAck(let ack):
            unacknowledged.removeValue(forKey: ack.requestID)
            return afterWorkChanged(now: now)
        case .cancel(let cancel):
            unacknowledged.removeValue(forKey: cancel.requestID)
            guard inFlight.removeValue(forKey: cancel.requestID) != nil else { return afterWorkChanged(now: now) }
            return [.cancel(requestID: cancel.requestID)] + afterWorkChanged(now: now)
        case .drain(let drain):
            return handle(.drainRequested(reason: drain.reason.isEmpty ? "coordinator asked" : drain.reason), now: now)
        case .policyUpdate(let update):
            // A repeated update (the coordinator re-sent it after a reconnect) changes nothing.
            guard update.version != policyVersion || loadingPolicy else { return [] }
            pendingPolicy = (update.version, update.weightsPath)
            var actions: [Action] = []
            if update.abortInFlight {
                for id in inFlight.keys.sorted() {
                    actions.append(.cancel(requestID: id))
                    actions.append(sent(Wire.error(.refused, "aborted for policy update", requestID: id), now: now))
                }
                inFlight.removeAll()
            }
            return actions + afterWorkChanged(now: now)
        case .error(let error) where error.code == .notRegistered:
            // The coordinator restarted and does not know us: register again.
            registered = false
            return [sendRegister(now: now)]
        default:
            return []
        }
    }

    private mutating func tick(now: Double) -> [Action] {
        // While unregistered, each further reconnect waits longer (backoff), so a worker does not
        // hammer a coordinator that is down.
        let allowance = registered ? deadAfter : deadAfter + currentReconnectDelay
        if now - lastHeard > allowance {
            // Paranoid Pirate: the coordinator went silent. Drop the socket and reconnect; in-flight
            // work continues and its results wait in `unacknowledged`.
            if !registered { currentReconnectDelay = min(currentReconnectDelay * 2, settings.maxReconnectDelay) }
            registered = false
            // A drain's deadlines hold without a coordinator too: `cancelled` results then wait
            // for one like any other result, for one more drain timeout.
            let due = drainDeadlines(now: now)
            return due.contains { if case .exit = $0 { true } else { false } } ? due : due + [.reconnect]
        }
        var actions: [Action] = []
        if registered && now - lastSent >= settings.heartbeatInterval {
            actions.append(sent(.heartbeat(heartbeat()), now: now))
        }
        return actions + drainDeadlines(now: now)
    }

    /// What a drain's deadlines ask for now: stopping the rollouts still running after
    /// `rolloutDrainTimeout`, or exiting once nothing runs and `drainTimeout` has passed.
    private mutating func drainDeadlines(now: Double) -> [Action] {
        guard draining, let started = drainStarted else { return [] }
        if !inFlight.isEmpty, now - started > settings.rolloutDrainTimeout { return cancelInFlight(now: now) }
        if inFlight.isEmpty, now - started > settings.drainTimeout { return [.exit(code: unacknowledged.isEmpty ? 0 : 1)] }
        return []
    }

    /// A drain that ran out of time for its rollouts (`rolloutDrainTimeout`): each is stopped
    /// and reported as a `cancelled` outcome, kept until acknowledged like any result, and the
    /// acknowledgements get a `drainTimeout` of their own.
    private mutating func cancelInFlight(now: Double) -> [Action] {
        var actions: [Action] = []
        for (id, request) in inFlight.sorted(by: { $0.key < $1.key }) {
            var result = RolloutResult.failed(
                request, outcome: .cancelled,
                detail: "worker \(settings.workerID) drained and stopped the rollout after \(settings.rolloutDrainTimeout) s")
            result.workerID = settings.workerID
            unacknowledged[id] = result
            actions.append(.cancel(requestID: id))
            if registered { actions.append(sent(.rolloutResult(result), now: now)) }
        }
        inFlight.removeAll()
        drainStarted = now
        return actions + afterWorkChanged(now: now)
    }

    /// Work finished, was acknowledged or a policy loaded: maybe load a pending policy, maybe
    /// finish a drain.
    private mutating func afterWorkChanged(now: Double) -> [Action] {
        if let pending = pendingPolicy, inFlight.isEmpty, !loadingPolicy {
            pendingPolicy = nil
            loadingPolicy = true
            return [.loadPolicy(version: pending.version, weightsPath: pending.path)]
        }
        if draining && inFlight.isEmpty && unacknowledged.isEmpty && !loadingPolicy {
            var goodbye = Arbor_V1_Deregister()
            goodbye.workerID = settings.workerID
            goodbye.reason = "drained"
            return [sent(.deregister(goodbye), now: now), .exit(code: 0)]
        }
        return []
    }

    /// Whether requests may be handed out to this worker now (a policy load blocks them).
    public var acceptsWork: Bool { registered && !draining && pendingPolicy == nil && !loadingPolicy }

    // MARK: Messages

    private mutating func sendRegister(now: Double) -> Action {
        var register = RegisterMessage()
        register.workerID = settings.workerID
        register.host = settings.host
        register.pid = settings.pid
        register.slots = UInt32(settings.slots)
        register.backend = settings.backend
        register.policyVersion = policyVersion
        register.inFlightRequestIds = inFlight.keys.sorted()
        return sent(.register(register), now: now)
    }

    private func heartbeat() -> HeartbeatMessage {
        var beat = HeartbeatMessage()
        beat.workerID = settings.workerID
        beat.busySlots = UInt32(inFlight.count)
        beat.policyVersion = policyVersion
        beat.tokensPerSecond = tokensPerSecond
        beat.inFlightRequestIds = inFlight.keys.sorted()
        return beat
    }

    private mutating func sent(_ body: Body, now: Double) -> Action {
        lastSent = now
        return .send(body)
    }
}
