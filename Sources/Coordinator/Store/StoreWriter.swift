import ArborProtocol
import Foundation
import Logging

/// Commits store changes on a thread of its own, grouping whatever arrived while the previous
/// transaction ran into the next one (group commit), and reports what each commit made durable
/// so the transport thread can send the replies that promise it. Thread-safe.
final class StoreWriter: @unchecked Sendable {
    /// What one commit made durable, of the changes whose senders wait for it.
    struct Committed: Sendable {
        var resultIDs: [String] = []
        var ackedBatches: [Int] = []
        var policyVersions: [UInt64] = []

        var isEmpty: Bool { resultIDs.isEmpty && ackedBatches.isEmpty && policyVersions.isEmpty }
    }

    private let store: RunStore
    private let logger: Logger
    private let queue = DispatchQueue(label: "arbor.store-writer")
    private let lock = NSLock()
    private var pending: [RunStore.Change] = []
    private var scheduled = false
    /// Called on the writer's thread with what is now durable.
    private let onCommitted: @Sendable (Committed) -> Void

    init(store: RunStore, logger: Logger, onCommitted: @escaping @Sendable (Committed) -> Void) {
        self.store = store
        self.logger = logger
        self.onCommitted = onCommitted
    }

    /// Queues a change; it commits with the next group.
    func submit(_ change: RunStore.Change) {
        lock.lock()
        pending.append(change)
        let needsSchedule = !scheduled
        scheduled = true
        lock.unlock()
        if needsSchedule { queue.async { [self] in drain() } }
    }

    /// Waits until everything submitted so far is committed.
    func flush() {
        queue.sync {}
        queue.sync { drain() }
    }

    private func drain() {
        lock.lock()
        let changes = pending
        pending.removeAll(keepingCapacity: true)
        scheduled = false
        lock.unlock()
        guard !changes.isEmpty else { return }
        do {
            try store.commit(changes)
        } catch {
            // Results and trainer acks stay unacknowledged: their senders send them again, and
            // the next commit tries again. Nothing accepted is lost.
            logger.error("store commit of \(changes.count) change(s) failed: \(error)")
            return
        }
        var committed = Committed()
        for change in changes {
            switch change {
            case .result(let result): committed.resultIDs.append(result.requestID)
            case .batchAcked(let index): committed.ackedBatches.append(index)
            case .policyPublished(let version, _): committed.policyVersions.append(version)
            case .batchPlanned, .dispatched, .gaveUp: break
            }
        }
        if !committed.isEmpty { onCommitted(committed) }
    }
}
