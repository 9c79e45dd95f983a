import ArborProtocol

/// What the coordinator knows about one connected worker.
public struct WorkerRecord: Sendable, Equatable {
    public var id: String
    /// The ROUTER routing id frame that reaches this worker.
    public var identity: Frame
    public var host: String
    public var pid: UInt32
    public var backend: String
    public var slots: Int
    /// Requests dispatched to this worker and not yet answered.
    public var assigned: Set<String> = []
    public var policyVersion: UInt64
    public var tokensPerSecond: Double = 0
    /// Monotonic seconds of the last message from it.
    public var lastHeard: Double
    public var registeredAt: Double
    /// Announced it is leaving: gets no new work.
    public var draining = false
    public var completed = 0

    public var freeSlots: Int { max(0, slots - assigned.count) }
}

/// The workers the coordinator can dispatch to, with heartbeat liveness.
///
/// Pure value type; owned by `CoordinatorCore`. Not thread-safe.
public struct WorkerRegistry: Sendable {
    public private(set) var workers: [String: WorkerRecord] = [:]
    /// A worker silent for longer than this (seconds) is dead.
    public var deadAfter: Double

    public init(deadAfter: Double) {
        self.deadAfter = deadAfter
    }

    public subscript(id: String) -> WorkerRecord? {
        get { workers[id] }
        set { workers[id] = newValue }
    }

    /// The worker a routing id belongs to.
    public func worker(identity: Frame) -> WorkerRecord? {
        workers.values.first { $0.identity == identity }
    }

    /// Adds or refreshes a worker from its Register; returns the record and the request ids it
    /// still held before (a re-registration after a reconnect).
    public mutating func register(_ message: RegisterMessage, identity: Frame, now: Double) -> WorkerRecord {
        var record = workers[message.workerID] ?? WorkerRecord(
            id: message.workerID, identity: identity, host: message.host, pid: message.pid,
            backend: message.backend, slots: Int(message.slots), policyVersion: message.policyVersion,
            lastHeard: now, registeredAt: now)
        record.identity = identity
        record.slots = max(1, Int(message.slots))
        record.policyVersion = message.policyVersion
        record.lastHeard = now
        record.host = message.host
        record.backend = message.backend
        workers[message.workerID] = record
        return record
    }

    public mutating func remove(_ id: String) -> WorkerRecord? {
        workers.removeValue(forKey: id)
    }

    /// Workers silent past `deadAfter`, removed from the registry and returned.
    public mutating func reapDead(now: Double) -> [WorkerRecord] {
        let dead = workers.values.filter { now - $0.lastHeard > deadAfter }
        for worker in dead { workers.removeValue(forKey: worker.id) }
        return dead.sorted { $0.id < $1.id }
    }

    /// Workers that may take a request now, most free slots first (ties by id, deterministic).
    public func available(policyVersion: UInt64) -> [WorkerRecord] {
        workers.values
            .filter { !$0.draining && $0.freeSlots > 0 && $0.policyVersion == policyVersion }
            .sorted { ($0.freeSlots, $1.id) > ($1.freeSlots, $0.id) }
    }

    public var totalSlots: Int { workers.values.reduce(0) { $0 + $1.slots } }
    public var busySlots: Int { workers.values.reduce(0) { $0 + $1.assigned.count } }
}
