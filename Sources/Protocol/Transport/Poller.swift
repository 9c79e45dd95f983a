import CZMQ

/// Waits on ZeroMQ sockets and plain file descriptors together (`zmq_poll`).
///
/// Owning thread only: it holds raw socket handles of sockets owned by the same thread.
public struct Poller {
    private var items: [zmq_pollitem_t] = []

    public init() {}

    /// Adds a socket; returns its index in `wait`'s result.
    public mutating func add(_ socket: ZMQSocket, writable: Bool = false) -> Int {
        let events = Int16(ZMQ_POLLIN) | (writable ? Int16(ZMQ_POLLOUT) : 0)
        items.append(zmq_pollitem_t(socket: socket.handle, fd: 0, events: events, revents: 0))
        return items.count - 1
    }

    /// Adds a file descriptor (a mailbox's eventfd); returns its index.
    public mutating func add(fileDescriptor: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Also wait for the socket at `index` to become writable (while sends are queued).
    public mutating func setWantsWrite(_ index: Int, _ wants: Bool) {
        items[index].events = Int16(ZMQ_POLLIN) | (wants ? Int16(ZMQ_POLLOUT) : 0)
    }

    /// Blocks up to `timeoutMilliseconds` (-1 = forever); returns the readiness per item.
    public mutating func wait(timeoutMilliseconds: Int) -> [Readiness] {
        let rc = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
        if rc <= 0 { return Array(repeating: Readiness(), count: items.count) }
        return items.map {
            Readiness(readable: $0.revents & Int16(ZMQ_POLLIN) != 0, writable: $0.revents & Int16(ZMQ_POLLOUT) != 0)
        }
    }

    /// Which events fired on one item.
    public struct Readiness: Sendable {
        public var readable = false
        public var writable = false
    }
}
