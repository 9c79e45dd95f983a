import ArborProtocol

/// The worker's DEALER to the coordinator, polled together with the node's mailbox.
/// Transport thread only.
final class Connection {
    private let socket: BufferedSocket

    init(context: ZMQContext, endpoint: String, options: ZMQSocketOptions) throws {
        socket = try BufferedSocket(context: context, type: .dealer, options: options, connect: endpoint)
    }

    func send(_ frame: Frame) { socket.send(frame) }

    func receiveAll() -> [[Frame]] { socket.receiveAll() }

    /// Waits until the socket or the mailbox has something, or `timeout` seconds pass; pushes the
    /// send backlog when the socket turns writable. Returns whether the mailbox is readable.
    func wait<Item>(mailbox: Mailbox<Item>, timeout: Double) -> Bool {
        var poller = Poller()
        let socketIndex = poller.add(socket.socket, writable: socket.hasBacklog)
        let mailboxIndex = poller.add(fileDescriptor: mailbox.fileDescriptor)
        let ready = poller.wait(timeoutMilliseconds: Int(timeout * 1000))
        if ready[socketIndex].writable { socket.flushOnce() }
        return ready[mailboxIndex].readable
    }

    func flush(timeout: Double) { socket.flush(timeout: timeout) }

    func close() { socket.close() }
}
