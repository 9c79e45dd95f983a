import Foundation

/// A DEALER connection usable from async code: a dedicated thread owns the socket, this
/// `Sendable` handle only enqueues frames and reads replies from an `AsyncStream`.
///
/// Used by control clients (`arbor status`, the trainer endpoint's tests), benchmarks and tests.
/// Thread-safe.
public final class DealerClient: Sendable {
    private enum Command: Sendable {
        case send([Frame])
        case close
    }

    private let mailbox = Mailbox<Command>()
    private let inbox = Inbox()
    private let finished: DispatchSemaphore

    /// Starts the owning thread and connects to `endpoint`. Throws `.transport` when the socket
    /// cannot be created or the endpoint is malformed (an absent peer is not an error: ZeroMQ
    /// connects when it appears).
    public init(context: ZMQContext, endpoint: String, options: ZMQSocketOptions = .init()) throws {
        let mailbox = self.mailbox
        let inbox = self.inbox
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        self.finished = finished
        nonisolated(unsafe) var startError: (any Error)?
        let thread = Thread {
            defer {
                inbox.close()
                finished.signal()
            }
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context: context, type: .dealer, options: options)
                try socket.connect(endpoint)
            } catch {
                startError = error
                started.signal()
                return
            }
            started.signal()
            DealerClient.loop(socket: socket, mailbox: mailbox, deliver: inbox.deliver)
            socket.close()
        }
        thread.name = "arbor-dealer"
        thread.start()
        started.wait()
        if let startError { throw startError }
    }

    /// The owning thread's loop: send what the mailbox brings (queueing while the peer is full),
    /// deliver what arrives, until `.close`.
    private static func loop(socket: ZMQSocket, mailbox: Mailbox<Command>, deliver: ([Frame]) -> Void) {
        var poller = Poller()
        let socketIndex = poller.add(socket)
        let mailboxIndex = poller.add(fileDescriptor: mailbox.fileDescriptor)
        var outgoing: [[Frame]] = []
        while true {
            poller.setWantsWrite(socketIndex, !outgoing.isEmpty)
            let ready = poller.wait(timeoutMilliseconds: -1)
            if ready[mailboxIndex].readable {
                for command in mailbox.drain() {
                    switch command {
                    case .send(let frames): outgoing.append(frames)
                    case .close: return
                    }
                }
            }
            while let message = try? socket.receive() { deliver(message) }
            while let first = outgoing.first {
                guard let outcome = try? socket.send(first), outcome != .wouldBlock else { break }
                outgoing.removeFirst()
            }
        }
    }

    /// Queues one message for sending. Thread-safe; never blocks.
    public func send(_ frames: [Frame]) {
        mailbox.post(.send(frames))
    }

    /// Sends one envelope body.
    public func send(_ body: Body) {
        send([Wire.encode(body)])
    }

    /// Sends `body` and waits up to `timeout` seconds for the next decodable envelope.
    /// Throws `.transport` on timeout, or the decode error of a garbled reply.
    public func request(_ body: Body, timeout: Double) async throws -> Envelope {
        send(body)
        return try await nextEnvelope(timeout: timeout)
    }

    /// Waits up to `timeout` seconds for the next message and decodes it.
    public func nextEnvelope(timeout: Double) async throws -> Envelope {
        guard let frames = await nextMessage(timeout: timeout), let last = frames.last else {
            throw ProtocolError(.transport, "no reply within \(timeout) s")
        }
        return try Wire.decode(last)
    }

    /// The next raw message, or nil after `timeout` seconds or once closed.
    public func nextMessage(timeout: Double) async -> [Frame]? {
        await inbox.next(timeout: timeout)
    }

    /// Closes the socket and stops the thread; waits for it. Idempotent.
    public func close() {
        mailbox.post(.close)
        finished.wait()
        finished.signal()
    }
}
