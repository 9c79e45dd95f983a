import Foundation

/// Messages that arrived on a socket thread, waiting for async readers.
///
/// Thread-safe. Unlike an `AsyncStream`, a reader that times out leaves the inbox usable for the
/// next reader, which is what request/reply clients need.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var buffered: [[Frame]] = []
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<[Frame]?, Never>)] = []
    private var nextWaiterID: UInt64 = 0
    private var closed = false

    /// Delivers a message to the oldest waiter, or buffers it. Any thread.
    func deliver(_ message: [Frame]) {
        lock.lock()
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            lock.unlock()
            waiter.continuation.resume(returning: message)
            return
        }
        buffered.append(message)
        lock.unlock()
    }

    /// Wakes every waiter with nil; later reads return nil at once.
    func close() {
        lock.lock()
        closed = true
        let pending = waiters
        waiters.removeAll()
        lock.unlock()
        for waiter in pending { waiter.continuation.resume(returning: nil) }
    }

    /// The next message, or nil after `timeout` seconds or once closed.
    func next(timeout: Double) async -> [Frame]? {
        let id: UInt64 = lock.withLock {
            nextWaiterID += 1
            return nextWaiterID
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[Frame]?, Never>) in
            lock.lock()
            if !buffered.isEmpty {
                let message = buffered.removeFirst()
                lock.unlock()
                continuation.resume(returning: message)
                return
            }
            if closed {
                lock.unlock()
                continuation.resume(returning: nil)
                return
            }
            waiters.append((id, continuation))
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                self.expire(id)
            }
        }
    }

    private func expire(_ id: UInt64) {
        lock.lock()
        guard let index = waiters.firstIndex(where: { $0.id == id }) else {
            lock.unlock()
            return
        }
        let waiter = waiters.remove(at: index)
        lock.unlock()
        waiter.continuation.resume(returning: nil)
    }
}
