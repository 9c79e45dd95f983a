import ArborProtocol
import Foundation
import Logging

/// Commits store changes on a thread of its own, grouping whatever arrived while the previous
/// transaction ran into the next one (group commit), and reports committed results so the
/// transport thread can acknowledge them. Thread-safe.
final class StoreWriter: @unchecked Sendable {
    private let store: RunStore
    private let logger: Logger
    private let queue = DispatchQueue(label: "arbor.store-writer")
    private let lock = NSLock()
    private var pending: [RunStore.Change] = []
    private var scheduled = false
    /// Called on the writer's thread with the ids of results that are now durable.
    private let onCommitted: @Sendable ([String]) -> Void

    init(store: RunStore, logger: Logger, onCommitted: @escaping @Sendable ([String]) -> Void) {
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
            // Results stay unacknowledged: their workers re-send them, and the next commit tries
            // again. Nothing accepted is lost.
            logger.error("store commit of \(changes.count) change(s) failed: \(error)")
            return
        }
        let committed = changes.compactMap { change -> String? in
            if case .result(let result) = change { return result.requestID }
            return nil
        }
        if !committed.isEmpty { onCommitted(committed) }
    }
}
