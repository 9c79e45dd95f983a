import ArborProtocol

/// The trainer side of the control socket as a pure state machine: hands written batches to
/// trainers that pull them, leases each until it is acknowledged, drops rows sampled with a
/// policy that is too old, and says how many batches the trainer has taken (for backpressure).
///
/// A pull is answered at once when a batch is ready, else it waits (one waiting pull per
/// connection; a newer pull replaces it). A batch goes to one puller at a time: leased until
/// acknowledged, offered again when the lease runs out. Batches go out in index order, except
/// that a re-offered batch goes before newer ones. When the job is over and every batch is
/// acknowledged, waiting pulls are answered with `end_of_job`.
///
/// No sockets, no files, no clock: `CoordinatorSession` feeds it messages, written batches and
/// the monotonic time, and carries out the actions. A batch's rows are read off the transport
/// thread: the stream asks for them (`readRows`) and serves the first waiting pull once they
/// arrive (`rowsRead`). Owned by the coordinator's transport thread.
public struct TrainerStream {
    /// What the stream asks its service to do.
    public enum Action: Equatable {
        /// Send a reply to the control client behind a routing id.
        case reply(to: Frame, Body)
        /// Record that a batch is acknowledged (it is never served again, also after a restart),
        /// then echo the acknowledgement to the trainer behind the routing id.
        case persistAck(batch: Int, echoTo: Frame)
        /// Read the training rows of written batch `batch` (off the transport thread), then feed
        /// them back with `rowsRead`.
        case readRows(batch: Int)
        /// A line for the log.
        case log(CoordinatorCore.LogLevel, String)
    }

    public struct Settings: Sendable {
        /// Rows more than this many versions behind the current policy are dropped.
        public var maxStaleness: UInt64
        /// Seconds a served batch stays leased without an acknowledgement.
        public var leaseTimeout: Double
        /// Backpressure and waiting for acknowledgements from the start, not from the first pull.
        public var required: Bool

        public init(maxStaleness: UInt64, leaseTimeout: Double, required: Bool) {
            self.maxStaleness = maxStaleness
            self.leaseTimeout = leaseTimeout
            self.required = required
        }
    }

    /// Running totals, for status and metrics.
    public struct Counters: Sendable, Equatable {
        public var served = 0
        public var leasesExpired = 0
        public var staleRowsDropped = 0
    }

    public let settings: Settings
    public private(set) var counters = Counters()
    /// The policy version rows are judged against.
    public private(set) var policyVersion: UInt64
    /// Batches 1…written are on disk and may be served.
    public private(set) var written = 0
    /// Batches a trainer acknowledged.
    public private(set) var acked: Set<Int>
    /// Batches that could not be written; there is nothing to serve for them.
    public private(set) var unwritable: Set<Int> = []
    /// Whether backpressure and the end-of-job wait apply: the job says so, or a trainer pulled.
    public private(set) var isAttached: Bool
    /// True once no batch will be written any more (job complete).
    public private(set) var jobEnded = false
    /// Pulls answered with `end_of_job`.
    public private(set) var endsSent = 0
    /// While true, waiting pulls are not answered: the current policy version's eval runs, and
    /// the trainer must not publish the next version before it is measured.
    public private(set) var heldForEval = false
    /// Served, unacknowledged batches and when each was served.
    private var leases: [Int: Double] = [:]
    /// Pulls waiting for a batch, oldest first, with the oldest policy version each accepts.
    private var waiting: [(identity: Frame, minPolicyVersion: UInt64)] = []
    /// Stale rows dropped by the latest serving of each batch (a re-served batch counts once).
    private var droppedByBatch: [Int: Int] = [:]
    /// The batch whose rows are being read for the first waiting pull; one read at a time keeps
    /// batches going out in order.
    public private(set) var reading: Int?

    /// `acked` and `policyVersion` come from the run store on a resumed job.
    public init(settings: Settings, policyVersion: UInt64 = 0, acked: Set<Int> = []) {
        self.settings = settings
        self.policyVersion = policyVersion
        self.acked = acked
        isAttached = settings.required || !acked.isEmpty
    }

    /// Batches served and not yet acknowledged.
    public var leased: Int { leases.count }
    /// Trainer connections waiting for a batch.
    public var pullsWaiting: Int { waiting.count }
    /// Batches out of the trainer's way: held, acknowledged, or never to be served (unwritable).
    public var settled: Int { acked.count + leases.count + unwritable.count }
    /// `settled` while a trainer is attached (backpressure applies); nil before.
    public var taken: Int? { isAttached ? settled : nil }
    /// Whether every one of `total` batches is acknowledged (or could not be written).
    public func isDrained(total: Int) -> Bool { acked.count + unwritable.count >= total }

    // MARK: Events

    /// Batches up to `index` are written (they are written in order).
    public mutating func batchWritten(_ index: Int, now: Double) -> [Action] {
        written = max(written, index)
        return serveWaiting(now: now)
    }

    /// Batch `index` could not be written: it is left out of the stream.
    public mutating func batchFailed(_ index: Int, now: Double) -> [Action] {
        unwritable.insert(index)
        written = max(written, index)
        return serveWaiting(now: now)
    }

    /// No batch will be written any more.
    public mutating func endOfJob(now: Double) -> [Action] {
        jobEnded = true
        return serveWaiting(now: now)
    }

    /// Holds or releases waiting pulls for the current version's eval.
    public mutating func holdForEval(_ held: Bool, now: Double) -> [Action] {
        guard held != heldForEval else { return [] }
        heldForEval = held
        return held ? [] : serveWaiting(now: now)
    }

    /// A new policy is current: rows are judged against it from now on.
    public mutating func policyPublished(_ version: UInt64) {
        policyVersion = max(policyVersion, version)
    }

    /// A trainer asks for the next batch.
    public mutating func pull(_ pull: Arbor_V1_BatchPull, from identity: Frame, now: Double) -> [Action] {
        var actions: [Action] = []
        if !isAttached {
            isAttached = true
            actions.append(.log(.info, "a trainer is pulling batches: backpressure on, the job ends when every batch is acknowledged"))
        }
        waiting.removeAll { $0.identity == identity }
        waiting.append((identity, pull.minPolicyVersion))
        return actions + serveWaiting(now: now)
    }

    /// A trainer is done with a batch.
    public mutating func ack(_ ack: Arbor_V1_BatchAck, from identity: Frame, now: Double) -> [Action] {
        let index = Int(clamping: ack.batchIndex)
        guard index >= 1, index <= written else {
            return [.reply(to: identity, Wire.error(.badRequest, "batch \(ack.batchIndex) has not been served"))]
        }
        acked.insert(index)
        leases.removeValue(forKey: index)
        // Recorded again when repeated: the trainer repeats an ack whose echo it did not get,
        // which may be because the first record failed.
        return [.persistAck(batch: index, echoTo: identity)] + serveWaiting(now: now)
    }

    /// Time passed: leases past their timeout are offered again.
    public mutating func tick(now: Double) -> [Action] {
        let expired = leases.filter { now - $0.value > settings.leaseTimeout }.keys.sorted()
        guard !expired.isEmpty else { return [] }
        var actions: [Action] = []
        for index in expired {
            leases.removeValue(forKey: index)
            counters.leasesExpired += 1
            actions.append(
                .log(.warning, "batch \(index) was not acknowledged within \(settings.leaseTimeout) s; it is offered again"))
        }
        return actions + serveWaiting(now: now)
    }

    /// The rows of batch `index` were read (or could not be): serve them to the first waiting
    /// pull, if that batch is still the one to serve.
    public mutating func rowsRead(_ index: Int, _ rows: Result<[Substring], CoordinatorError>, now: Double)
        -> [Action]
    {
        guard reading == index else { return [] }
        reading = nil
        // While the rows were read the batch may have been acknowledged, or an eval started.
        guard !heldForEval, let pull = waiting.first, nextBatch() == index else { return serveWaiting(now: now) }
        switch rows {
        case .success(let lines):
            return serve(index, lines: lines, to: pull, now: now) + serveWaiting(now: now)
        case .failure(let error):
            // Not the trainer's fault, but it cannot go on without this batch: say so, and leave
            // the batch unleased for the next pull once the file is back.
            waiting.removeFirst()
            return [
                .reply(to: pull.identity, Wire.error(.internal, "batch \(index) cannot be served: \(error)")),
                .log(.error, "batch \(index) cannot be served: \(error)"),
            ] + serveWaiting(now: now)
        }
    }

    // MARK: Serving

    /// Answers waiting pulls, oldest first, while batches are available; the first pull that
    /// gets a batch waits for its rows to be read.
    private mutating func serveWaiting(now: Double) -> [Action] {
        guard !heldForEval, reading == nil else { return [] }
        var actions: [Action] = []
        while let pull = waiting.first {
            guard let index = nextBatch() else {
                if jobEnded && leases.isEmpty && isDrained(total: written) {
                    waiting.removeFirst()
                    endsSent += 1
                    var end = Arbor_V1_TrainingBatch()
                    end.endOfJob = true
                    end.policyVersion = policyVersion
                    actions.append(.reply(to: pull.identity, .trainingBatch(end)))
                    continue
                }
                break
            }
            reading = index
            actions.append(.readRows(batch: index))
            break
        }
        return actions
    }

    /// The oldest written batch that is neither acknowledged nor leased.
    private func nextBatch() -> Int? {
        guard written > 0 else { return nil }
        return (1...written).first { !acked.contains($0) && !unwritable.contains($0) && leases[$0] == nil }
    }

    /// Serves batch `index` to the first waiting pull, without the rows that are too old. A
    /// batch whose rows are all stale goes out empty (its `stale_rows_dropped` says why), so the
    /// trainer sees every batch index and acknowledges it like any other.
    private mutating func serve(
        _ index: Int, lines: [Substring], to pull: (identity: Frame, minPolicyVersion: UInt64), now: Double
    ) -> [Action] {
        waiting.removeFirst()
        let bound = policyVersion >= settings.maxStaleness ? policyVersion - settings.maxStaleness : 0
        let oldest = max(pull.minPolicyVersion, bound)
        let fresh = lines.filter { (TrainingRow.policyVersion(inJSONLine: $0) ?? 0) >= oldest }
        let dropped = lines.count - fresh.count
        // A batch served again (lease expired) counts only the rows it newly drops.
        let before = droppedByBatch[index] ?? 0
        if dropped > before {
            counters.staleRowsDropped += dropped - before
            droppedByBatch[index] = dropped
        }
        leases[index] = now
        counters.served += 1
        var batch = Arbor_V1_TrainingBatch()
        batch.batchIndex = UInt64(index)
        batch.rowsJsonl = fresh.isEmpty ? "" : fresh.joined(separator: "\n") + "\n"
        batch.staleRowsDropped = UInt32(dropped)
        batch.policyVersion = policyVersion
        var actions: [Action] = [.reply(to: pull.identity, .trainingBatch(batch))]
        if dropped > 0 {
            actions.append(
                .log(.info, "batch \(index) served without \(dropped) of its \(lines.count) row(s): sampled before policy version \(oldest)"))
        }
        return actions
    }
}
