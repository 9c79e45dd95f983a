import Foundation
import Glibc

/// A queue other threads post to, with a self-pipe that wakes the owning thread's `zmq_poll`.
///
/// Thread-safe. This is how work finished elsewhere (a rollout, a SQLite commit, a signal, an
/// outgoing message from async code) reaches a socket-owning thread without touching its socket.
public final class Mailbox<Item: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Item] = []
    /// Readable whenever items are waiting; poll it beside the sockets.
    public let fileDescriptor: Int32
    private let writeEnd: Int32

    public init() {
        var ends: [Int32] = [0, 0]
        // Without a pipe the process is out of descriptors: our environment, not input.
        precondition(pipe(&ends) == 0, "pipe failed: errno \(errno)")
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fileDescriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(fileDescriptor)
        close(writeEnd)
    }

    /// Enqueues an item and wakes the owner. Thread-safe.
    public func post(_ item: Item) {
        lock.lock()
        items.append(item)
        lock.unlock()
        // A full pipe (EAGAIN) is fine: the reader is already due to wake up.
        var one: UInt8 = 1
        _ = write(writeEnd, &one, 1)
    }

    /// Takes every waiting item, oldest first. Owning thread only (the one polling the fd).
    public func drain() -> [Item] {
        var sink = [UInt8](repeating: 0, count: 512)
        while read(fileDescriptor, &sink, sink.count) > 0 {}
        lock.lock()
        defer { lock.unlock() }
        let taken = items
        items.removeAll(keepingCapacity: true)
        return taken
    }
}
