/// A socket plus the messages waiting to go out on it, so that a full peer queue (high-water
/// mark) delays a send instead of blocking the transport thread or dropping the message.
///
/// Not `Sendable`: owned by the thread that created it, like the `ZMQSocket` inside.
public final class BufferedSocket {
    public let socket: ZMQSocket
    private var outgoing: [[Frame]] = []
    /// Messages a ROUTER could not route because the peer was gone (dropped, counted).
    public private(set) var unroutable = 0

    /// Creates the socket on the calling thread and binds or connects it.
    public init(context: ZMQContext, type: ZMQSocketType, options: ZMQSocketOptions, connect endpoint: String) throws {
        socket = try ZMQSocket(context: context, type: type, options: options)
        try socket.connect(endpoint)
    }

    /// Creates the socket on the calling thread and binds it; `boundEndpoint` names the real port.
    public init(context: ZMQContext, type: ZMQSocketType, options: ZMQSocketOptions, bind endpoint: String) throws {
        socket = try ZMQSocket(context: context, type: type, options: options)
        boundEndpoint = try socket.bind(endpoint)
    }

    /// The endpoint bound, with the port a `:0` bind picked.
    public private(set) var boundEndpoint: String?

    /// Whether messages are waiting for the peer to accept them.
    public var hasBacklog: Bool { !outgoing.isEmpty }

    /// Sends one message (one frame for a DEALER; identity + frame for a ROUTER), queueing it when
    /// the peer is full.
    public func send(_ frames: [Frame]) {
        outgoing.append(frames)
        flushOnce()
    }

    /// Convenience for a DEALER: one frame.
    public func send(_ frame: Frame) { send([frame]) }

    /// Pushes queued messages while the socket accepts them.
    public func flushOnce() {
        while let first = outgoing.first {
            let outcome: ZMQSocket.SendOutcome
            do {
                outcome = try socket.send(first)
            } catch {
                // A send that fails for another reason would fail forever; drop it.
                outgoing.removeFirst()
                continue
            }
            switch outcome {
            case .sent: outgoing.removeFirst()
            case .unroutable:
                unroutable += 1
                outgoing.removeFirst()
            case .wouldBlock: return
            }
        }
    }

    /// Tries for up to `timeout` seconds to get the backlog out (before closing).
    public func flush(timeout: Double) {
        var poller = Poller()
        let index = poller.add(socket, writable: true)
        var waited = 0.0
        flushOnce()
        while hasBacklog && waited < timeout {
            _ = poller.wait(timeoutMilliseconds: 50)
            _ = index
            flushOnce()
            waited += 0.05
        }
    }

    /// Every message waiting to be read, in order.
    public func receiveAll() -> [[Frame]] {
        var messages: [[Frame]] = []
        while let message = try? socket.receive() { messages.append(message) }
        return messages
    }

    public func close() { socket.close() }
}
